// The "orders" machine's context, as version 1 stored it and as version 2
// expects it. Validated with zod so that a bad instance fails loudly.
import { z } from "zod";

export const ContextV1 = z.object({
  order_id: z.string().min(1),
  placed_at: z.string(),
  line_items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive(), unit_price: z.number() })),
  customer_email: z.string().email().optional(),
  shipping_days: z.number().int().nonnegative().default(3),
});

export type ContextV1 = z.infer<typeof ContextV1>;

export type ContextV2 = {
  orderId: string;
  placedAt: string;
  dueBy: string;
  ageInDays: number;
  totalsBySku: Record<string, number>;
  customerEmail?: string;
};

export const renamedStates: Record<string, string> = {
  pending: "awaitingPayment",
  paid: "readyToShip",
  shipped: "inTransit",
};
