// Migrates instances of the "orders" machine from version 1 to version 2:
// snake_case context keys become camelCase, dates are normalized to ISO 8601
// with a due date, line items are totalled per SKU, and three states are
// renamed. It uses real libraries, as a migration in a real app would:
// zod to validate, date-fns for dates and lodash-es for the reshaping.
import type { StateValue } from "xstate";
import { addDays, differenceInCalendarDays, formatISO, parseISO } from "date-fns";
import { camelCase, groupBy, mapKeys, mapValues, sumBy } from "lodash-es";
import { ContextV1, type ContextV2, renamedStates } from "../src/schema";

export function upgradeState(state: StateValue): StateValue {
  if (typeof state === "string") {
    return renamedStates[state] ?? state;
  }
  return Object.fromEntries(
    Object.entries(state).map(([key, value]) => [renamedStates[key] ?? key, upgradeState(value as StateValue)]),
  );
}

export function upgradeContext(raw: unknown, now: Date = new Date()): ContextV2 {
  const ctx = ContextV1.parse(raw);
  const camel = mapKeys(ctx, (_value, key) => camelCase(key)) as Record<string, unknown>;
  const placed = parseISO(ctx.placed_at);
  const bySku = groupBy(ctx.line_items, (item) => item.sku);
  return {
    orderId: String(camel.orderId),
    placedAt: formatISO(placed),
    dueBy: formatISO(addDays(placed, ctx.shipping_days)),
    ageInDays: differenceInCalendarDays(now, placed),
    totalsBySku: mapValues(bySku, (items) => sumBy(items, (i) => i.qty * i.unit_price)),
    customerEmail: ctx.customer_email,
  };
}
