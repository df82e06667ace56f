// Migrates instances of the "ledger" machine from version 1 to version 2:
// string amounts become integer cents, entries are grouped per account and
// calendar month with running balances, and tags are deduplicated. It uses
// lodash-es one function at a time, and date-fns for the months.
import type { StateValue } from "xstate";
import groupBy from "lodash-es/groupBy.js";
import mapValues from "lodash-es/mapValues.js";
import sortBy from "lodash-es/sortBy.js";
import sumBy from "lodash-es/sumBy.js";
import uniq from "lodash-es/uniq.js";
import flatMap from "lodash-es/flatMap.js";
import upperFirst from "lodash-es/upperFirst.js";
import { format, parseISO, startOfMonth } from "date-fns";
import { cents, type ContextV1, type ContextV2, type Month } from "../src/entries";

export function upgradeState(state: StateValue): StateValue {
  return state === "reconciling" ? "open" : state;
}

export function upgradeContext(ctx: ContextV1): ContextV2 {
  const currency = ctx.currency.toUpperCase();
  if (currency !== "USD" && currency !== "EUR" && currency !== "GBP") {
    throw new Error(`unsupported currency ${ctx.currency}`);
  }
  const byAccount = groupBy(ctx.entries, (e) => upperFirst(e.account.trim()));
  const accounts = mapValues(byAccount, (entries) => {
    const byMonth = groupBy(entries, (e) => format(startOfMonth(parseISO(e.booked)), "yyyy-MM"));
    let balance = 0;
    return sortBy(Object.keys(byMonth)).map((month): Month => {
      const amounts = byMonth[month].map((e) => cents(e.amount));
      const credits = sumBy(amounts, (a) => (a > 0 ? a : 0));
      const debits = -sumBy(amounts, (a) => (a < 0 ? a : 0));
      balance += credits - debits;
      return { month, credits, debits, balance, entries: byMonth[month].map((e) => e.id) };
    });
  });
  return {
    owner: ctx.owner,
    currency,
    accounts,
    tags: uniq(flatMap(ctx.entries, (e) => e.tags ?? [])).sort(),
    closedMonths: ctx.closed_months ?? [],
  };
}
