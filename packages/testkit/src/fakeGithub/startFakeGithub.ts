import { FakeGithub } from './fakeGithubServer.js';
import { installPullRequestReviewRoutes } from './pullRequestReviewRoutes.js';
import { installRepositoryRoutes } from './repositoryRoutes.js';

/** A started fake GitHub with the repository, pull-request and review routes installed. */
export async function startFakeGithub(): Promise<FakeGithub> {
  const fake = new FakeGithub();
  installRepositoryRoutes(fake);
  installPullRequestReviewRoutes(fake);
  return fake.start();
}
