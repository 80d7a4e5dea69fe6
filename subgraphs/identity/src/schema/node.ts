import { policyDirectives } from '@cap/runtime';
import { builder } from '../builder.js';
import { canReadUser } from '../domain/users.js';
import { parseId } from '../domain/validation.js';
import { NodeRef } from './nodeInterface.js';

builder.queryFields((t) => ({
  node: t.field({
    type: NodeRef,
    nullable: true,
    description:
      'A user or API key by id, or null when there is none you may see: yourself and your keys, anyone and any key for admins.',
    directives: policyDirectives.authenticated(),
    args: { id: t.arg.id({ required: true, description: 'The id.' }) },
    resolve: async (_root, args, ctx) => {
      const id = parseId(String(args.id));
      if (ctx.principal.kind === 'anonymous') return null;
      const user = await ctx.loaders.user.load(id);
      if (user) return canReadUser(ctx.principal, user.id) ? user : null;
      const key = await ctx.loaders.apiKey.load(id);
      return key && canReadUser(ctx.principal, key.ownerId) ? key : null;
    },
  }),
}));
