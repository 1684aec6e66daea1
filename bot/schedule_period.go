package bot

import (
	"fmt"
	"time"

	"github.com/sopbot/sopbot/bot/config"
)

// period adds the scheduler's calendar arithmetic to a config.Period. Every
// time is taken in UTC. Periods of N days or weeks count from the Unix epoch
// (weeks from Monday 29 December 1969), so their boundaries do not depend
// on when the bot started.
type period struct{ config.Period }

const secondsPerDay = 24 * 60 * 60

// start returns the start of the period that contains t.
func (p period) start(t time.Time) time.Time {
	t = t.UTC()
	count := int64(p.Count)
	switch p.Unit {
	case config.UnitMonth:
		m := int64(t.Year())*12 + int64(t.Month()) - 1
		m -= floorMod(m, count)
		return time.Date(int(m/12), time.Month(m%12+1), 1, 0, 0, 0, 0, time.UTC)
	case config.UnitWeek:
		// Day -3 of the epoch is a Monday, so week 0 starts there.
		week := floorDiv(epochDay(t)+3, 7)
		week -= floorMod(week, count)
		return dayTime(week*7 - 3)
	default:
		day := epochDay(t)
		return dayTime(day - floorMod(day, count))
	}
}

// next returns the start of the period after the one that contains t.
func (p period) next(t time.Time) time.Time {
	start := p.start(t)
	switch p.Unit {
	case config.UnitMonth:
		return start.AddDate(0, p.Count, 0)
	case config.UnitWeek:
		return start.AddDate(0, 0, 7*p.Count)
	default:
		return start.AddDate(0, 0, p.Count)
	}
}

// previous returns the start of the period before the one that starts at
// start.
func (p period) previous(start time.Time) time.Time {
	return p.start(start.Add(-time.Nanosecond))
}

// key names the period that starts at start in markers and job arguments:
// 2026-12, 2026-Q4, 2026, 2026-W49 or 2026-12-03.
func (p period) key(start time.Time) string {
	switch {
	case p.Unit == config.UnitMonth && p.Count == 3:
		return fmt.Sprintf("%d-Q%d", start.Year(), (int(start.Month())-1)/3+1)
	case p.Unit == config.UnitMonth && p.Count == 12:
		return start.Format("2006")
	case p.Unit == config.UnitMonth:
		return start.Format("2006-01")
	case p.Unit == config.UnitWeek && p.Count == 1:
		year, week := start.ISOWeek()
		return fmt.Sprintf("%d-W%02d", year, week)
	default:
		return start.Format(time.DateOnly)
	}
}

// label names the period that starts at start for people: December 2026,
// Q4 2026, 2026, week 49 of 2026, or a range of dates.
func (p period) label(start time.Time) string {
	last := p.next(start).AddDate(0, 0, -1)
	switch {
	case p.Unit == config.UnitMonth && p.Count == 1:
		return start.Format("January 2006")
	case p.Unit == config.UnitMonth && p.Count == 3:
		return fmt.Sprintf("Q%d %d", (int(start.Month())-1)/3+1, start.Year())
	case p.Unit == config.UnitMonth && p.Count == 12:
		return start.Format("2006")
	case p.Unit == config.UnitMonth:
		return start.Format("January 2006") + " to " + last.Format("January 2006")
	case p.Unit == config.UnitWeek && p.Count == 1:
		year, week := start.ISOWeek()
		return fmt.Sprintf("week %d of %d", week, year)
	case p.Count == 1:
		return start.Format("2 January 2006")
	default:
		return start.Format("2 January 2006") + " to " + last.Format("2 January 2006")
	}
}

// adjective names the period in a title: Monthly, Quarterly, 90-day.
func (p period) adjective() string {
	switch {
	case p.Unit == config.UnitMonth && p.Count == 1:
		return "Monthly"
	case p.Unit == config.UnitMonth && p.Count == 3:
		return "Quarterly"
	case p.Unit == config.UnitMonth && p.Count == 12:
		return "Annual"
	case p.Unit == config.UnitWeek && p.Count == 1:
		return "Weekly"
	case p.Unit == config.UnitDay && p.Count == 1:
		return "Daily"
	}
	return fmt.Sprintf("%d-%s", p.Count, p.Unit)
}

// String returns the period as the config writes it.
func (p period) String() string {
	switch {
	case p.Unit == config.UnitMonth && p.Count == 1:
		return "monthly"
	case p.Unit == config.UnitMonth && p.Count == 3:
		return "quarterly"
	case p.Unit == config.UnitMonth && p.Count == 12:
		return "annually"
	case p.Unit == config.UnitWeek && p.Count == 1:
		return "weekly"
	case p.Unit == config.UnitDay && p.Count == 1:
		return "daily"
	}
	return fmt.Sprintf("every %d %ss", p.Count, p.Unit)
}

func epochDay(t time.Time) int64 { return floorDiv(t.Unix(), secondsPerDay) }

func dayTime(day int64) time.Time { return time.Unix(day*secondsPerDay, 0).UTC() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
