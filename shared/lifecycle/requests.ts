// The shapes the billing system sends (docs/contract.md §3), as zod schemas: the single source of truth
// for the envelope and each event's `data`. Parsing turns unknown JSON into typed requests or one
// InvalidInputError naming the first bad field (`data.plan.quotaGb: ...`).
import * as z from 'zod';
import { InvalidInputError } from '../errors.ts';
import {
  bandwidthLimitProblem,
  billingIdProblem,
  emailProblem,
  opsLimitProblem,
  quotaSizeProblem,
  withRule,
} from '../ostor/validate.ts';

export { EVENT_TYPES, type EventType } from './event-types.ts';

// Every value the gateway client will send is held here to the client's own rule (validate.ts,
// through `withRule`): the schema only adds the type, so a request accepted here is never refused
// by the client after a change was made (issue 10: a limit out of range used to be refused after
// the user had been created).
const email = withRule(z.string({ message: 'must be a string' }), emailProblem);
const billingId = withRule(z.string({ message: 'must be a string' }), billingIdProblem);

const opsLimit = () =>
  withRule(z.number({ message: 'must be a number (operations per second)' }), opsLimitProblem)
    .nullable()
    .optional();

// Only provision reads a plan: built on its first parse rather than in every function's cold start.
const PlanSchema = z.lazy(() =>
  z.strictObject({
    quotaGb: withRule(z.number({ message: 'must be a whole number of GB' }), quotaSizeProblem)
      .nullable()
      .optional(),
    limits: z
      .strictObject({
        ops: z
          .strictObject({
            default: opsLimit(),
            get: opsLimit(),
            put: opsLimit(),
            list: opsLimit(),
            delete: opsLimit(),
          })
          .nullable()
          .optional(),
        bandwidth: z
          .strictObject({
            out: withRule(z.number({ message: 'must be a whole number of KB/s' }), bandwidthLimitProblem)
              .nullable()
              .optional(),
          })
          .nullable()
          .optional(),
      })
      .nullable()
      .optional(),
  }),
);

export const ProvisionData = z.strictObject({
  email,
  billingId: billingId.optional(),
  plan: PlanSchema.optional(),
});
export const UserStateData = z.strictObject({ email });
export const TerminateData = z.strictObject({
  email,
  purge: z.boolean({ message: 'must be true or false' }).optional(),
});
export const RotateKeyData = z.strictObject({
  email,
  keepPrevious: z.boolean({ message: 'must be true or false' }).optional(),
});
export const CollectUsageData = z.strictObject({}).optional();

export const Envelope = z.object({
  type: z.string({ message: 'must be a string' }),
  timestamp: z.iso
    .datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2026-11-26T12:00:00Z' })
    .transform((value) => new Date(value)),
  data: z.unknown(),
});

export type Plan = z.infer<typeof PlanSchema>;
export type ProvisionRequest = z.infer<typeof ProvisionData>;
export type UserStateRequest = z.infer<typeof UserStateData> & { readonly timestamp: Date };
export type TerminateRequest = z.infer<typeof TerminateData>;
export type RotateKeyRequest = z.infer<typeof RotateKeyData>;

/** Parses with `schema`, or throws an InvalidInputError naming the first offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.infer<S> {
  // reportInput: zod 4 leaves the offending value out of its issues unless asked, and without it a
  // value of the wrong type could not be told from a missing one ("is required").
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [prefix, ...(issue?.path ?? []).map(String)].filter((part) => part !== '').join('.');
  let message = issue?.message ?? 'is invalid';
  if (issue?.code === 'unrecognized_keys') {
    return fail(`${path}.${issue.keys[0] ?? ''}`, 'is not a known field');
  }
  if (issue?.code === 'invalid_type' && issue.input === undefined) message = 'is required';
  return fail(path || prefix, message);
}

function fail(field: string, message: string): never {
  throw new InvalidInputError(field, message);
}
