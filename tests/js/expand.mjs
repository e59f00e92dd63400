// Expands every VEVENT of an .ics file (stdin) with Mozilla's ical.js, as Thunderbird and web
// calendars do, and prints the UTC start and end of each occurrence that overlaps the window
// [argv[2], argv[3]) as JSON: {"<UID>": [["<start>", "<end>"], ...], ...}.
// Used by tests/test_ical_export_icaljs.py; times are read with the file's own VTIMEZONEs.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const [from, to] = process.argv.slice(2).map((text) => Date.parse(text) / 1000);
const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

const masters = new Map();
const exceptions = [];
for (const vevent of root.getAllSubcomponents("vevent")) {
  const event = new ICAL.Event(vevent);
  if (event.isRecurrenceException()) exceptions.push(event);
  else masters.set(event.uid, event);
}
for (const exception of exceptions) masters.get(exception.uid)?.relateException(exception);

const found = {};
for (const [uid, event] of masters) {
  const spans = [];
  const keep = (start, end) => {
    const [lo, hi] = [start.toUnixTime(), end.toUnixTime()];
    if (lo < to && hi > from) spans.push([iso(lo), iso(hi)]);
  };
  if (event.isRecurring()) {
    const iterator = event.iterator();
    for (let next = iterator.next(); next && next.toUnixTime() < to; next = iterator.next()) {
      const details = event.getOccurrenceDetails(next);
      keep(details.startDate, details.endDate);
    }
  } else {
    keep(event.startDate, event.endDate);
  }
  found[uid] = spans;
}
process.stdout.write(JSON.stringify(found));
