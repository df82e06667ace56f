// When reminders fall due: a reminder repeats daily, on weekdays, weekly or
// monthly, and is snoozed by whole minutes.
import { addDays, addMinutes, addMonths, addWeeks, isAfter, isWeekend, nextMonday, parseISO, formatISO } from "date-fns";

export type Repeat = "none" | "daily" | "weekdays" | "weekly" | "monthly";

export type Reminder = {
  id: string;
  text: string;
  dueAt: string; // ISO 8601
  repeat: Repeat;
  snoozes: number;
};

export function nextDue(reminder: Reminder): string | null {
  const due = parseISO(reminder.dueAt);
  switch (reminder.repeat) {
    case "none":
      return null;
    case "daily":
      return formatISO(addDays(due, 1));
    case "weekdays": {
      const next = addDays(due, 1);
      return formatISO(isWeekend(next) ? nextMonday(next) : next);
    }
    case "weekly":
      return formatISO(addWeeks(due, 1));
    case "monthly":
      return formatISO(addMonths(due, 1));
  }
}

export function snooze(reminder: Reminder, minutes: number): Reminder {
  return { ...reminder, dueAt: formatISO(addMinutes(parseISO(reminder.dueAt), minutes)), snoozes: reminder.snoozes + 1 };
}

export function isDue(reminder: Reminder, now: Date): boolean {
  return !isAfter(parseISO(reminder.dueAt), now);
}
