// The user listing a sweep reads once: who has which email (for the messages and the summary),
// and which emails several gateway users share (worth an operator's look).
import type { EmailDirectory } from './messages.ts';
import type { UsageEvents, UsageGateway } from './ports.ts';

/** Groups of user ids sharing an email named in the warning (the count covers all of them). */
const DUPLICATE_GROUPS_LOGGED = 20;

export interface UserDirectory {
  readonly emails: EmailDirectory;
  /** Emails the gateway holds more than one user for. */
  readonly duplicateEmails: number;
}

export async function loadUserDirectory(
  gateway: Pick<UsageGateway, 'listUsers'>,
  events: UsageEvents,
): Promise<UserDirectory> {
  const users = await gateway.listUsers();
  const emails = new Map<string, string>();
  const usersByEmail = new Map<string, string[]>();
  for (const user of users) {
    emails.set(user.userId, user.email);
    const sameEmail = usersByEmail.get(user.email);
    if (sameEmail === undefined) usersByEmail.set(user.email, [user.userId]);
    else sameEmail.push(user.userId);
  }
  const shared = [...usersByEmail.values()].filter((userIds) => userIds.length > 1);
  if (shared.length > 0) {
    // User ids only (no emails in the logs); the first few groups are enough to act on.
    events.warn('several gateway users share an email; lifecycle events reach only one of each', {
      emails: shared.length,
      userIds: shared.slice(0, DUPLICATE_GROUPS_LOGGED),
    });
  }
  return { emails, duplicateEmails: shared.length };
}
