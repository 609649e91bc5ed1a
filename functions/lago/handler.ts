// lago: Lago's webhooks in; each subscription's S3 user enabled, suspended (by its customer's overdue
// invoices) or terminated (docs/contract.md §9).
import { createLagoHandler } from '../../shared/runtime/lago-handler.ts';

export const handler = createLagoHandler();
