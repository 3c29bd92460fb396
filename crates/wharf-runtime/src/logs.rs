//! Turns the Engine's log frames into lines. With `timestamps=true` every frame is one log
//! message prefixed by its RFC 3339 nano timestamp and a space; a message is a whole line
//! (ending in `\n`) or, for lines longer than the engine's 16 KiB buffer or output that ends
//! without a newline, a fragment. Fragments are joined per stream (stdout and stderr
//! separately) and the line keeps the timestamp of its first fragment.

use wharf_core::{LogLine, Timestamp};

/// Which output a frame came from; fragments are only joined within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// stdout (and a TTY's console output).
    Stdout,
    /// stderr.
    Stderr,
}

/// A line being assembled.
#[derive(Debug, Default)]
struct Partial {
    /// The timestamp of its first fragment.
    timestamp: Option<Timestamp>,
    bytes: Vec<u8>,
}

/// Assembles lines from frames and drops those at or before `since`.
#[derive(Debug)]
pub(crate) struct LineAssembler {
    since: Option<Timestamp>,
    stdout: Partial,
    stderr: Partial,
    /// The newest timestamp seen, for a frame that carries none (should not happen).
    last: Option<Timestamp>,
}

impl LineAssembler {
    /// An assembler delivering only lines newer than `since`.
    pub fn new(since: Option<Timestamp>) -> Self {
        Self {
            since,
            stdout: Partial::default(),
            stderr: Partial::default(),
            last: None,
        }
    }

    /// Feeds one frame; complete lines are appended to `out`.
    pub fn push(&mut self, output: Output, frame: &[u8], out: &mut Vec<LogLine>) {
        let (timestamp, mut content) = match split_timestamp(frame) {
            Some((t, rest)) => (t, rest),
            None => (self.last.unwrap_or_else(now), frame),
        };
        self.last = Some(timestamp);
        let since = self.since;
        let partial = match output {
            Output::Stdout => &mut self.stdout,
            Output::Stderr => &mut self.stderr,
        };
        while let Some(pos) = content.iter().position(|b| *b == b'\n') {
            partial.bytes.extend_from_slice(&content[..pos]);
            let line_ts = partial.timestamp.take().unwrap_or(timestamp);
            emit(since, line_ts, std::mem::take(&mut partial.bytes), out);
            content = &content[pos + 1..];
        }
        if !content.is_empty() {
            if partial.bytes.is_empty() {
                partial.timestamp = Some(timestamp);
            }
            partial.bytes.extend_from_slice(content);
        }
    }

    /// Delivers what is left (output that ended without a newline): stdout first, then stderr.
    pub fn finish(&mut self, out: &mut Vec<LogLine>) {
        let since = self.since;
        for partial in [&mut self.stdout, &mut self.stderr] {
            if !partial.bytes.is_empty() {
                let ts = partial.timestamp.take().or(self.last).unwrap_or_else(now);
                emit(since, ts, std::mem::take(&mut partial.bytes), out);
            }
        }
    }
}

/// Remembers how many frames the follow request delivered per second of timestamp (for the last
/// few seconds), so a second, non-following request can skip exactly those. Engine 20.10 may end
/// a follow request before the container's last message is written (the final fragment of output
/// without a newline, seen in about one run of three), while a later plain read has it.
#[derive(Debug, Default)]
pub(crate) struct FrameWindow {
    /// Frames seen per whole second (Unix time), for seconds >= newest - MARGIN.
    per_second: std::collections::BTreeMap<i64, usize>,
    newest: Option<i64>,
}

impl FrameWindow {
    /// How many seconds before the newest frame the catch-up read starts (stdout and stderr
    /// are copied separately, so file order and timestamp order may differ slightly).
    const MARGIN: i64 = 2;

    /// Counts one frame the engine delivered.
    pub fn observe(&mut self, frame: &[u8]) {
        let Some((t, _)) = split_timestamp(frame) else {
            return;
        };
        let second = t.millis.div_euclid(1000);
        let newest = self.newest.map_or(second, |n| n.max(second));
        self.newest = Some(newest);
        if second >= newest - Self::MARGIN {
            *self.per_second.entry(second).or_default() += 1;
        }
        self.per_second = self.per_second.split_off(&(newest - Self::MARGIN));
    }

    /// For a catch-up read after a follow read that started at `since` (Unix seconds): the
    /// `since` to ask for, and how many of its first frames the follow read already delivered.
    /// Both reads see the log file's messages in file order, filtered by timestamp >= since, and
    /// the follow read saw a prefix of the file, so the count is exact.
    pub fn catch_up(&self, since: i64) -> (i64, usize) {
        let from = match self.newest {
            Some(n) => since.max(n - Self::MARGIN),
            None => since,
        };
        let skip = self.per_second.range(from..).map(|(_, n)| n).sum();
        (from, skip)
    }
}

fn emit(
    since: Option<Timestamp>,
    timestamp: Timestamp,
    mut bytes: Vec<u8>,
    out: &mut Vec<LogLine>,
) {
    if since.is_some_and(|s| timestamp <= s) {
        return;
    }
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let message = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    out.push(LogLine { timestamp, message });
}

fn now() -> Timestamp {
    Timestamp::from_millis(chrono::Utc::now().timestamp_millis())
}

/// Splits `2024-05-01T10:00:00.123456789Z rest` into the timestamp and `rest`.
fn split_timestamp(frame: &[u8]) -> Option<(Timestamp, &[u8])> {
    // RFC 3339 with nanoseconds and a zone offset is at most 35 bytes.
    let space = frame.iter().take(40).position(|b| *b == b' ')?;
    let text = std::str::from_utf8(&frame[..space]).ok()?;
    let t = parse_engine_time(text)?;
    Some((t, &frame[space + 1..]))
}

/// Parses an Engine timestamp (RFC 3339, nanoseconds optional) to milliseconds; Go's zero
/// time (`0001-01-01T00:00:00Z`, the engine's "never") and anything unparsable are `None`.
pub(crate) fn parse_engine_time(text: &str) -> Option<Timestamp> {
    let t = chrono::DateTime::parse_from_rfc3339(text.trim()).ok()?;
    // Go's zero time and anything before the epoch mean "not set" for the engine.
    let millis = t.timestamp_millis();
    if millis < 0 {
        return None;
    }
    Some(Timestamp::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "2024-05-01T10:00:00.123456789Z";
    const T2: &str = "2024-05-01T10:00:00.124000000Z";
    const T3: &str = "2024-05-01T10:00:01.5Z";

    fn ms(text: &str) -> Timestamp {
        parse_engine_time(text).expect("valid")
    }

    fn frame(t: &str, content: &str) -> Vec<u8> {
        format!("{t} {content}").into_bytes()
    }

    fn lines(out: &[LogLine]) -> Vec<(i64, &str)> {
        out.iter()
            .map(|l| (l.timestamp.millis, l.message.as_str()))
            .collect()
    }

    #[test]
    fn parses_engine_times() {
        assert_eq!(ms(T1).millis, 1_714_557_600_123);
        assert_eq!(ms("2024-05-01T12:00:00.5+02:00").millis, 1_714_557_600_500);
        assert_eq!(parse_engine_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_engine_time(""), None);
        assert_eq!(parse_engine_time("yesterday"), None);
    }

    #[test]
    fn whole_lines_and_crlf() {
        let mut a = LineAssembler::new(None);
        let mut out = Vec::new();
        a.push(Output::Stdout, &frame(T1, "hello\n"), &mut out);
        a.push(Output::Stderr, &frame(T2, "oops\r\n"), &mut out);
        a.push(Output::Stdout, &frame(T3, "\n"), &mut out);
        a.finish(&mut out);
        assert_eq!(
            lines(&out),
            vec![
                (ms(T1).millis, "hello"),
                (ms(T2).millis, "oops"),
                (ms(T3).millis, "")
            ]
        );
    }

    #[test]
    fn fragments_join_per_stream_with_first_timestamp() {
        let mut a = LineAssembler::new(None);
        let mut out = Vec::new();
        a.push(Output::Stdout, &frame(T1, "abc"), &mut out);
        a.push(Output::Stderr, &frame(T2, "err-start "), &mut out);
        a.push(Output::Stdout, &frame(T2, "def\nghi"), &mut out);
        assert_eq!(lines(&out), vec![(ms(T1).millis, "abcdef")]);
        a.push(Output::Stderr, &frame(T3, "err-end\n"), &mut out);
        a.push(Output::Stdout, &frame(T3, "no newline"), &mut out);
        a.finish(&mut out);
        assert_eq!(
            lines(&out),
            vec![
                (ms(T1).millis, "abcdef"),
                (ms(T2).millis, "err-start err-end"),
                (ms(T2).millis, "ghino newline"),
            ]
        );
    }

    #[test]
    fn drops_lines_at_or_before_since() {
        let mut a = LineAssembler::new(Some(ms(T2)));
        let mut out = Vec::new();
        a.push(Output::Stdout, &frame(T1, "old\n"), &mut out);
        a.push(Output::Stdout, &frame(T2, "same millisecond\n"), &mut out);
        a.push(Output::Stdout, &frame(T3, "new\n"), &mut out);
        assert_eq!(lines(&out), vec![(ms(T3).millis, "new")]);
    }

    #[test]
    fn utf8_split_across_fragments_survives() {
        let mut a = LineAssembler::new(None);
        let mut out = Vec::new();
        let euro = "€".as_bytes();
        let mut f1 = format!("{T1} a").into_bytes();
        f1.extend_from_slice(&euro[..1]);
        let mut f2 = format!("{T2} ").into_bytes();
        f2.extend_from_slice(&euro[1..]);
        f2.extend_from_slice(b"b\n");
        a.push(Output::Stdout, &f1, &mut out);
        a.push(Output::Stdout, &f2, &mut out);
        assert_eq!(lines(&out), vec![(ms(T1).millis, "a€b")]);
    }

    #[test]
    fn frame_window_counts_what_a_catch_up_read_repeats() {
        let mut w = FrameWindow::default();
        assert_eq!(w.catch_up(5), (5, 0));
        w.observe(&frame("2024-05-01T10:00:00.1Z", "a\n"));
        w.observe(&frame("2024-05-01T10:00:05.1Z", "b\n"));
        w.observe(&frame("2024-05-01T10:00:05.2Z", "c\n"));
        // stderr lagging behind stdout: an older timestamp later in the file.
        w.observe(&frame("2024-05-01T10:00:04.9Z", "d\n"));
        w.observe(&frame("2024-05-01T10:00:02.9Z", "e\n"));
        w.observe(b"garbage");
        let base = 1_714_557_600;
        // From 3 s before the newest frame: b, c and d are repeated, a and e are not.
        assert_eq!(w.catch_up(0), (base + 3, 3));
        // A later start than the window asks from there.
        assert_eq!(w.catch_up(base + 5), (base + 5, 2));
    }

    #[test]
    fn frame_without_timestamp_keeps_its_text() {
        let mut a = LineAssembler::new(None);
        let mut out = Vec::new();
        a.push(Output::Stdout, &frame(T1, "first\n"), &mut out);
        a.push(Output::Stdout, b"no-timestamp here\n", &mut out);
        assert_eq!(
            lines(&out),
            vec![
                (ms(T1).millis, "first"),
                (ms(T1).millis, "no-timestamp here")
            ]
        );
    }
}
