// A ledger's entries before and after version 2 of the "ledger" machine:
// version 1 kept amounts as strings of dollars per entry; version 2 keeps
// integer cents, per account and month, with running balances.
export type EntryV1 = {
  id: string;
  account: string;
  amount: string; // "-12.50"
  booked: string; // "2024-03-05"
  memo?: string;
  tags?: string[];
};

export type ContextV1 = {
  owner: string;
  currency: string;
  entries: EntryV1[];
  closed_months?: string[];
};

export type Month = { month: string; credits: number; debits: number; balance: number; entries: string[] };

export type ContextV2 = {
  owner: string;
  currency: "USD" | "EUR" | "GBP";
  accounts: Record<string, Month[]>;
  tags: string[];
  closedMonths: string[];
};

export function cents(amount: string): number {
  const n = Number(amount.replace(/[,$\s]/g, ""));
  if (!Number.isFinite(n)) {
    throw new Error(`not an amount: ${amount}`);
  }
  return Math.round(n * 100);
}
