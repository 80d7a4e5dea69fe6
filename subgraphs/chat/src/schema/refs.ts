import { builder } from '../builder.js';
import type { MessageView } from '../domain/views.js';
import type { Conversation } from '../generated/prisma/client.js';

/** `Conversation`. Refs are declared apart from their implementations, which refer to each other. */
export const ConversationRef = builder.objectRef<Conversation>('Conversation');
/** `Message`, backed by a {@link MessageView} (what the cache and live events carry). */
export const MessageRef = builder.objectRef<MessageView>('Message');
