// The context of the "signup" machine before and after version 2, as zod
// schemas: version 1 kept a flat profile with a free-form plan name and a
// trial length in days; version 2 nests the profile, names the plan from a
// closed set, and stores when the trial ends.
import { z } from "zod";

export const Plan = z.enum(["free", "team", "business", "enterprise"]);
export type Plan = z.infer<typeof Plan>;

export const ContextV1 = z.object({
  email: z.string().email(),
  full_name: z.string().min(1),
  company: z.string().optional(),
  plan: z.string(),
  seats: z.coerce.number().int().positive().default(1),
  trial_days: z.number().int().min(0).max(90).default(14),
  signed_up_at: z.string().datetime({ offset: true }),
  marketing_opt_in: z.union([z.boolean(), z.literal("yes"), z.literal("no")]).default(false),
  referral: z.string().url().nullable().default(null),
});
export type ContextV1 = z.infer<typeof ContextV1>;

export const ContextV2 = z.object({
  profile: z.object({
    email: z.string().email(),
    name: z.string(),
    company: z.string().nullable(),
  }),
  plan: Plan,
  seats: z.number().int().positive(),
  trial: z.object({ startedAt: z.string(), endsAt: z.string(), daysLeft: z.number().int() }),
  consent: z.object({ marketing: z.boolean(), recordedAt: z.string() }),
  referral: z.string().nullable(),
});
export type ContextV2 = z.infer<typeof ContextV2>;

// The state names that version 2 renamed.
export const renamedStates: Record<string, string> = {
  awaitingEmailConfirmation: "confirmingEmail",
  choosingPlan: "selectingPlan",
  onboarding: "gettingStarted",
};
