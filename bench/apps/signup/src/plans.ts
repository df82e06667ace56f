import { Plan } from "./schema";

// Plan names that version 1 accepted, and the plan each is now.
const aliases: Record<string, Plan> = {
  starter: "free",
  basic: "free",
  pro: "team",
  teams: "team",
  biz: "business",
  corporate: "enterprise",
};

export function normalizePlan(name: string, seats: number): Plan {
  const key = name.trim().toLowerCase();
  const parsed = Plan.safeParse(key);
  if (parsed.success) {
    return parsed.data;
  }
  return aliases[key] ?? (seats > 50 ? "enterprise" : seats > 1 ? "team" : "free");
}
