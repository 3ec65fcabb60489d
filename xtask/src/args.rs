//! The command line of one task: `--help`, options with values, unknown arguments.

use std::path::PathBuf;
use std::str::FromStr;

/// A task's arguments, walked in order.
pub struct Args<'a> {
    it: std::slice::Iter<'a, String>,
    help: &'static str,
}

impl<'a> Args<'a> {
    /// The arguments, or `None` after printing `help` when `--help` or `-h` is among them.
    pub fn new(args: &'a [String], help: &'static str) -> Option<Args<'a>> {
        if args.iter().any(|a| a == "--help" || a == "-h") {
            println!("{help}");
            return None;
        }
        Some(Args {
            it: args.iter(),
            help,
        })
    }

    /// The next argument.
    pub fn flag(&mut self) -> Option<&'a str> {
        self.it.next().map(String::as_str)
    }

    /// The value after `flag` (`what` names it in the error: "a folder", "a number").
    pub fn value(&mut self, flag: &str, what: &str) -> Result<&'a str, String> {
        self.flag().ok_or_else(|| format!("{flag} needs {what}"))
    }

    /// The path after `flag`.
    pub fn path(&mut self, flag: &str, what: &str) -> Result<PathBuf, String> {
        self.value(flag, what).map(PathBuf::from)
    }

    /// The value after `flag`, parsed and accepted by `ok`.
    pub fn parsed<T: FromStr>(
        &mut self,
        flag: &str,
        what: &str,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T, String> {
        self.flag()
            .and_then(|v| v.parse().ok())
            .filter(|v| ok(v))
            .ok_or_else(|| format!("{flag} needs {what}"))
    }

    /// The error for an argument the task does not take.
    pub fn unknown(&self, arg: &str) -> String {
        format!("unknown argument {arg:?}\n\n{}", self.help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn walks_values_and_reports_what_is_missing() {
        assert!(Args::new(&strings(&["--out", "x", "-h"]), "help").is_none());
        let v = strings(&["--out", "dir", "--n", "7", "--n", "0", "--bad", "--out"]);
        let mut a = Args::new(&v, "help").unwrap();
        assert_eq!(a.flag(), Some("--out"));
        assert_eq!(a.path("--out", "a folder").unwrap(), PathBuf::from("dir"));
        assert_eq!(a.flag(), Some("--n"));
        assert_eq!(
            a.parsed::<usize>("--n", "a positive number", |&n| n > 0),
            Ok(7)
        );
        a.flag();
        assert_eq!(
            a.parsed::<usize>("--n", "a positive number", |&n| n > 0),
            Err("--n needs a positive number".into())
        );
        assert_eq!(a.flag(), Some("--bad"));
        assert!(a
            .unknown("--bad")
            .starts_with("unknown argument \"--bad\"\n\nhelp"));
        a.flag();
        assert_eq!(
            a.value("--out", "a folder"),
            Err("--out needs a folder".into())
        );
    }
}
