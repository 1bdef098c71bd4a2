//! Datetimes as Qdrant reads them in payloads and datetime ranges: RFC 3339
//! and the variants its parser accepts (a space for the `T`, no seconds, a
//! date alone, no offset meaning UTC, an offset with or without a colon or
//! minutes, `Z` or `z`, ` UTC`), as microseconds since the Unix epoch.

/// Microseconds since 1970-01-01T00:00:00Z of `text`, if it is a datetime.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (date, rest) = text.split_at_checked(10)?;
    let days = days_since_epoch(date)?;
    let (time_of_day, offset) = if rest.is_empty() {
        (0, 0)
    } else {
        let rest = rest.strip_prefix(['T', ' '])?;
        let (micros, rest) = time(rest)?;
        (micros, offset_seconds(rest)?)
    };
    Some(days * 86_400_000_000 + time_of_day - offset * 1_000_000)
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn days_since_epoch(date: &str) -> Option<i64> {
    let bytes = date.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = digits(&date[..4])?;
    let month = digits(&date[5..7])?;
    let day = digits(&date[8..10])?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > month_days[month as usize - 1] {
        return None;
    }
    // Days from civil (H. Hinnant), valid for every year of the proleptic Gregorian calendar.
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let year_of_era = shifted - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// `HH:MM[:SS[.fraction]]`: microseconds into the day, and what follows.
fn time(text: &str) -> Option<(i64, &str)> {
    let (hour, rest) = two_digits(text)?;
    let (minute, mut rest) = two_digits(rest.strip_prefix(':')?)?;
    let mut second = 0;
    let mut micros = 0;
    if let Some(after) = rest.strip_prefix(':') {
        let (s, after) = two_digits(after)?;
        second = s;
        rest = after;
        if let Some(fraction) = rest.strip_prefix('.') {
            let end = fraction.find(|c: char| !c.is_ascii_digit()).unwrap_or(fraction.len());
            if end == 0 {
                return None;
            }
            // Finer than microseconds is cut, as Qdrant's Python reading does.
            let kept = &fraction[..end.min(6)];
            micros = digits(kept)? * 10_i64.pow(6 - kept.len() as u32);
            rest = &fraction[end..];
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((((hour * 60 + minute) * 60 + second) * 1_000_000 + micros, rest))
}

/// Seconds east of UTC of what follows the time: nothing (UTC), `Z`, ` UTC`,
/// or `±HH[:MM]` / `±HHMM`, optionally after a space.
fn offset_seconds(text: &str) -> Option<i64> {
    if text.is_empty() || text == " UTC" {
        return Some(0);
    }
    let text = text.strip_prefix(' ').unwrap_or(text);
    if text == "Z" || text == "z" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, rest) = two_digits(rest)?;
    let minutes = match rest {
        "" => 0,
        rest => {
            let (minutes, rest) = two_digits(rest.strip_prefix(':').unwrap_or(rest))?;
            if !rest.is_empty() {
                return None;
            }
            minutes
        }
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

fn two_digits(text: &str) -> Option<(i64, &str)> {
    let (head, rest) = text.split_at_checked(2)?;
    Some((digits(head)?, rest))
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_qdrant_accepts() {
        let noon = parse("2024-02-29T12:00:00Z").unwrap();
        assert_eq!(noon, 1_709_208_000_000_000);
        for same in [
            "2024-02-29T12:00:00+00:00",
            "2024-02-29 12:00:00",
            "2024-02-29T12:00",
            "2024-02-29T14:00:00+02:00",
            "2024-02-29T14:00:00+0200",
            "2024-02-29T14:00:00+02",
            "2024-02-29 14:00:00 +02:00",
            "2024-02-29T12:00:00.000000z",
            "  2024-02-29 12:00:00 UTC",
            "2024-02-29T11:00:00-01:00",
        ] {
            assert_eq!(parse(same), Some(noon), "{same}");
        }
        assert_eq!(parse("1970-01-01"), Some(0));
        assert_eq!(parse("1969-12-31T23:59:59.5Z"), Some(-500_000));
        assert_eq!(parse("2024-01-01T00:00:00.1234567Z"), Some(parse("2024-01-01").unwrap() + 123_456));
    }

    #[test]
    fn other_strings_are_not_datetimes() {
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2023-02-29",
            "2024-02-30",
            "2024-1-05",
            "2024-02-29T",
            "2024-02-29T12",
            "2024-02-29T24:00",
            "2024-02-29T12:00:60",
            "2024-02-29T12:00:00.Z",
            "2024-02-29T12:00:00+25:00",
            "2024-02-29x12:00",
            "2024-02-29T12:00:00 +",
            "hello world",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
