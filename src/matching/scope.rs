//! Scope expressions: which records an answer may draw on.
//!
//! After a breach the question is rarely "anything we ever held" but "what the
//! attackers took": `--scope 'dataset:council_tax_* and year:2010..2014'`. A scope is
//! parsed into a [`Scope`] tree and evaluated as roaring-bitmap algebra over record
//! ids.
//!
//! Terms:
//! - `dataset:GLOB`: datasets whose name matches, `*` any run of characters, `?` one
//!   (`dataset:council_tax_*`); a pattern without `#` also names every table of the
//!   SQL files it matches (`dataset:archive.sql` is `dataset:archive.sql#*`);
//! - `year:2011`, `year:2006..2020` (inclusive), `year:..2010`, `year:2015..`: records
//!   whose `record_date` falls in those years;
//! - `has:KIND`: records holding that data class, a field kind (`has:ni_number`) or an
//!   unmapped column (`has:other:Notes`).
//!
//! combined with `not`, `and`, `or` (binding in that order) and parentheses. A value
//! with spaces or parentheses is written in double quotes: `dataset:"old export.csv"`.
//!
//! ```
//! use leakscope::matching::Scope;
//! use roaring::RoaringBitmap;
//!
//! let scope: Scope = "dataset:tax_* and not year:2006..2009".parse()?;
//! let universe: RoaringBitmap = (0..10).collect();
//! let names = ["dataset:tax_2008.csv", "dataset:housing.csv", "year:2008", "year:2012"];
//! let get = |name: &str| -> Option<RoaringBitmap> {
//!     Some(match name {
//!         "dataset:tax_2008.csv" => (0..5).collect(),
//!         "year:2008" => (0..3).collect(),
//!         "year:2012" => (3..10).collect(),
//!         _ => (5..10).collect(),
//!     })
//! };
//! let records = scope.eval(&universe, &|atom| {
//!     leakscope::matching::scope::resolve_atom(atom, &names, &get)
//! });
//! assert_eq!(records.iter().collect::<Vec<_>>(), [3, 4]);
//! # Ok::<(), leakscope::matching::ScopeError>(())
//! ```

use crate::field::FieldKind;
use roaring::RoaringBitmap;
use std::fmt;
use std::str::FromStr;

/// Deepest nesting of parentheses and `not`s accepted, so that a hostile expression
/// cannot exhaust the stack of the recursive parser.
const MAX_DEPTH: usize = 200;

/// A data class: what kind of personal data a record holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataClass {
    /// A mapped column kind (`email`, `dob`).
    Kind(FieldKind),
    /// An unmapped column, by header (`other:Notes`).
    Other(String),
}

impl fmt::Display for DataClass {
    /// `email`, or `other:<column>`: the name used in outputs and in the index's
    /// `class:` bitmaps.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataClass::Kind(kind) => f.write_str(kind.name()),
            DataClass::Other(column) => write!(f, "other:{column}"),
        }
    }
}

/// One term of a scope expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Atom {
    /// `dataset:GLOB`.
    Dataset(String),
    /// `year:FROM..TO`, inclusive; an open end is `0` or `u16::MAX`.
    Years {
        /// First year.
        from: u16,
        /// Last year.
        to: u16,
    },
    /// `has:CLASS`.
    Has(DataClass),
}

/// A parsed scope expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A single term.
    Atom(Atom),
    /// Records of the universe not in the inner scope.
    Not(Box<Scope>),
    /// Records in both.
    And(Box<Scope>, Box<Scope>),
    /// Records in either.
    Or(Box<Scope>, Box<Scope>),
}

/// What is wrong with a scope expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScopeProblem {
    /// Nothing but spaces.
    #[error("empty scope expression")]
    Empty,
    /// A `(` without its `)`.
    #[error("expected ')'")]
    ExpectedClose,
    /// An operator or `)` where a term belongs.
    #[error("expected a term (dataset:NAME, year:YYYY, has:KIND), 'not' or '('")]
    ExpectedTerm,
    /// Two terms with no operator between them.
    #[error("expected 'and' or 'or' before '{0}'")]
    ExpectedOperator(String),
    /// A `)` without its `(`.
    #[error("unmatched ')'")]
    UnmatchedClose,
    /// A word that is no known term.
    #[error("unknown term '{0}'; terms are dataset:NAME, year:YYYY[..YYYY] and has:KIND")]
    UnknownTerm(String),
    /// `dataset:` with nothing after it.
    #[error("'{0}:' needs a value")]
    MissingValue(&'static str),
    /// A year that is not one.
    #[error("'{0}' is not a year or a range of years like 2006..2020")]
    BadYear(String),
    /// `year:2020..2006`.
    #[error("year range {from}..{to} ends before it starts")]
    BackwardsYears {
        /// First year given.
        from: u16,
        /// Last year given.
        to: u16,
    },
    /// A `has:` value that is no data class.
    #[error(
        "'{0}' is not a data class; use a field kind (email, dob, postcode, …) or other:COLUMN"
    )]
    BadClass(String),
    /// A `"` that is never closed.
    #[error("unterminated quote")]
    UnterminatedQuote,
    /// More than [`MAX_DEPTH`] nested parentheses or `not`s.
    #[error("expression nested too deeply")]
    TooDeep,
}

/// A scope expression that does not parse: the problem, where (1-based character
/// position; one past the end for "ran out"), and the expression.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{problem} at position {position}: {expression}")]
pub struct ScopeError {
    /// What is wrong.
    pub problem: ScopeProblem,
    /// 1-based character position of the problem.
    pub position: usize,
    /// The expression as given.
    pub expression: String,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Open,
    Close,
    Word { text: String, quoted: bool },
}

struct Token {
    tok: Tok,
    /// 1-based character position of the token's first character.
    pos: usize,
}

type Failure = (ScopeProblem, usize);

fn lex(input: &str) -> Result<Vec<Token>, Failure> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().zip(1..).peekable();
    while let Some(&(c, pos)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '(' || c == ')' {
            chars.next();
            let tok = if c == '(' { Tok::Open } else { Tok::Close };
            tokens.push(Token { tok, pos });
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&(c, quote_pos)) = chars.peek() {
            if c.is_whitespace() || c == '(' || c == ')' {
                break;
            }
            chars.next();
            if c != '"' {
                text.push(c);
                continue;
            }
            quoted = true;
            loop {
                match chars.next() {
                    None => return Err((ScopeProblem::UnterminatedQuote, quote_pos)),
                    Some(('"', _)) => break,
                    Some(('\\', _)) => match chars.next() {
                        Some((escaped, _)) => text.push(escaped),
                        None => return Err((ScopeProblem::UnterminatedQuote, quote_pos)),
                    },
                    Some((c, _)) => text.push(c),
                }
            }
        }
        tokens.push(Token {
            tok: Tok::Word { text, quoted },
            pos,
        });
    }
    Ok(tokens)
}

#[derive(PartialEq)]
enum Keyword {
    And,
    Or,
    Not,
}

fn keyword(tok: &Tok) -> Option<Keyword> {
    match tok {
        Tok::Word {
            text,
            quoted: false,
        } => {
            if text.eq_ignore_ascii_case("and") {
                Some(Keyword::And)
            } else if text.eq_ignore_ascii_case("or") {
                Some(Keyword::Or)
            } else if text.eq_ignore_ascii_case("not") {
                Some(Keyword::Not)
            } else {
                None
            }
        }
        _ => None,
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    at: usize,
    /// Position reported when the input runs out.
    end: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn eat(&mut self, want: Keyword) -> bool {
        let found = self.peek().and_then(|t| keyword(&t.tok)) == Some(want);
        if found {
            self.at += 1;
        }
        found
    }

    fn or(&mut self) -> Result<Scope, Failure> {
        let mut left = self.and()?;
        while self.eat(Keyword::Or) {
            let right = self.and()?;
            left = Scope::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Scope, Failure> {
        let mut left = self.unary()?;
        while self.eat(Keyword::And) {
            let right = self.unary()?;
            left = Scope::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn deeper(&mut self) -> Result<(), Failure> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err((ScopeProblem::TooDeep, self.here()));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Scope, Failure> {
        if self.eat(Keyword::Not) {
            self.deeper()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Scope::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Scope, Failure> {
        let Some(token) = self.peek() else {
            return Err((ScopeProblem::ExpectedTerm, self.end));
        };
        let pos = token.pos;
        match &token.tok {
            Tok::Open => {
                self.at += 1;
                self.deeper()?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Token {
                        tok: Tok::Close, ..
                    }) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err((ScopeProblem::ExpectedClose, self.here())),
                }
            }
            Tok::Close => Err((ScopeProblem::ExpectedTerm, pos)),
            word @ Tok::Word { text, .. } => {
                if keyword(word).is_some() {
                    return Err((ScopeProblem::ExpectedTerm, pos));
                }
                let atom = parse_atom(text).map_err(|problem| (problem, pos))?;
                self.at += 1;
                Ok(Scope::Atom(atom))
            }
        }
    }
}

fn parse_atom(text: &str) -> Result<Atom, ScopeProblem> {
    let Some((prefix, value)) = text.split_once(':') else {
        return Err(ScopeProblem::UnknownTerm(text.to_string()));
    };
    let prefix = prefix.to_ascii_lowercase();
    match prefix.as_str() {
        "dataset" if value.is_empty() => Err(ScopeProblem::MissingValue("dataset")),
        "dataset" => Ok(Atom::Dataset(value.to_string())),
        "year" => parse_years(value),
        "has" if value.is_empty() => Err(ScopeProblem::MissingValue("has")),
        "has" => parse_class(value).map(Atom::Has),
        _ => Err(ScopeProblem::UnknownTerm(text.to_string())),
    }
}

fn parse_year(text: &str, open: u16, whole: &str) -> Result<u16, ScopeProblem> {
    if text.is_empty() {
        return Ok(open);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScopeProblem::BadYear(whole.to_string()));
    }
    text.parse()
        .map_err(|_| ScopeProblem::BadYear(whole.to_string()))
}

fn parse_years(value: &str) -> Result<Atom, ScopeProblem> {
    let (from, to) = match value.split_once("..") {
        Some((from, to)) => (
            parse_year(from, 0, value)?,
            parse_year(to, u16::MAX, value)?,
        ),
        None if value.is_empty() => return Err(ScopeProblem::MissingValue("year")),
        None => {
            let year = parse_year(value, 0, value)?;
            (year, year)
        }
    };
    if from > to {
        return Err(ScopeProblem::BackwardsYears { from, to });
    }
    Ok(Atom::Years { from, to })
}

fn parse_class(value: &str) -> Result<DataClass, ScopeProblem> {
    let other = value
        .get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("other:"));
    if other {
        return match value.get(6..) {
            Some(column) if !column.is_empty() => Ok(DataClass::Other(column.to_string())),
            _ => Err(ScopeProblem::BadClass(value.to_string())),
        };
    }
    match value.parse::<FieldKind>() {
        Ok(FieldKind::Ignore) | Err(_) => Err(ScopeProblem::BadClass(value.to_string())),
        Ok(kind) => Ok(DataClass::Kind(kind)),
    }
}

impl Scope {
    /// Parses a scope expression.
    pub fn parse(expression: &str) -> Result<Scope, ScopeError> {
        let fail = |(problem, position): Failure| ScopeError {
            problem,
            position,
            expression: expression.to_string(),
        };
        let tokens = lex(expression).map_err(fail)?;
        let end = expression.chars().count() + 1;
        if tokens.is_empty() {
            return Err(fail((ScopeProblem::Empty, end)));
        }
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            end,
            depth: 0,
        };
        let scope = parser.or().map_err(fail)?;
        match parser.peek() {
            None => Ok(scope),
            Some(Token {
                tok: Tok::Close,
                pos,
            }) => Err(fail((ScopeProblem::UnmatchedClose, *pos))),
            Some(Token { pos, .. }) => {
                let shown = expression
                    .chars()
                    .skip(pos.saturating_sub(1))
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                Err(fail((ScopeProblem::ExpectedOperator(shown), *pos)))
            }
        }
    }

    /// The records of `universe` in this scope. `resolve` turns one term into the
    /// records it names (see [`resolve_atom`]); its answer is clipped to `universe`.
    pub fn eval(
        &self,
        universe: &RoaringBitmap,
        resolve: &dyn Fn(&Atom) -> RoaringBitmap,
    ) -> RoaringBitmap {
        match self {
            Scope::Atom(atom) => resolve(atom) & universe,
            Scope::Not(inner) => universe - inner.eval(universe, resolve),
            Scope::And(left, right) => {
                let left = left.eval(universe, resolve);
                if left.is_empty() {
                    return left;
                }
                left & right.eval(universe, resolve)
            }
            Scope::Or(left, right) => left.eval(universe, resolve) | right.eval(universe, resolve),
        }
    }

    /// Every term, left to right: for warning about terms that name nothing.
    pub fn atoms(&self) -> Vec<&Atom> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            match node {
                Scope::Atom(atom) => out.push(atom),
                Scope::Not(inner) => stack.push(inner),
                Scope::And(left, right) | Scope::Or(left, right) => {
                    stack.push(right);
                    stack.push(left);
                }
            }
        }
        out
    }

    fn precedence(&self) -> u8 {
        match self {
            Scope::Or(..) => 1,
            Scope::And(..) => 2,
            Scope::Not(_) => 3,
            Scope::Atom(_) => 4,
        }
    }

    /// Writes `self`, in parentheses when it binds looser than `context` requires.
    fn write(&self, f: &mut fmt::Formatter<'_>, context: u8) -> fmt::Result {
        let parens = self.precedence() < context;
        if parens {
            f.write_str("(")?;
        }
        match self {
            Scope::Atom(atom) => write!(f, "{atom}")?,
            Scope::Not(inner) => {
                f.write_str("not ")?;
                inner.write(f, 3)?;
            }
            // Operators associate to the left, so a right operand of equal
            // precedence needs parentheses to come back as the same tree.
            Scope::And(left, right) => {
                left.write(f, 2)?;
                f.write_str(" and ")?;
                right.write(f, 3)?;
            }
            Scope::Or(left, right) => {
                left.write(f, 1)?;
                f.write_str(" or ")?;
                right.write(f, 2)?;
            }
        }
        if parens {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl FromStr for Scope {
    type Err = ScopeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

impl fmt::Display for Scope {
    /// The expression in a form that parses back to the same tree, with only the
    /// parentheses it needs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '"' | '\\'));
    if plain {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Atom::Dataset(glob) => {
                f.write_str("dataset:")?;
                write_value(f, glob)
            }
            Atom::Years { from, to } if from == to => write!(f, "year:{from}"),
            Atom::Years { from, to } => {
                f.write_str("year:")?;
                if *from != 0 {
                    write!(f, "{from}")?;
                }
                f.write_str("..")?;
                if *to != u16::MAX {
                    write!(f, "{to}")?;
                }
                Ok(())
            }
            Atom::Has(class) => {
                f.write_str("has:")?;
                write_value(f, &class.to_string())
            }
        }
    }
}

/// Whether `name` matches `pattern`, where `*` is any run of characters and `?` any
/// one character. Case-sensitive, like the file names datasets are named after.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and how much of the name it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = name.get(n) {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&want) if want == '?' || want == c => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

fn years_of<S: AsRef<str>>(names: &[S]) -> impl Iterator<Item = (&str, u16)> {
    names.iter().filter_map(|name| {
        let name = name.as_ref();
        let year = name.strip_prefix("year:")?.parse().ok()?;
        Some((name, year))
    })
}

fn matching_names<'n, S: AsRef<str>>(
    atom: &'n Atom,
    names: &'n [S],
) -> Box<dyn Iterator<Item = String> + 'n> {
    match atom {
        Atom::Dataset(glob) => Box::new(names.iter().filter_map(move |name| {
            let name = name.as_ref();
            let dataset = name.strip_prefix("dataset:")?;
            // A pattern naming no table names the file: `archive.sql` (or `*.sql`) is
            // every table of it.
            let file_matches = !glob.contains('#')
                && dataset
                    .split_once('#')
                    .is_some_and(|(file, _)| glob_match(glob, file));
            (glob_match(glob, dataset) || file_matches).then(|| name.to_string())
        })),
        Atom::Years { from, to } => Box::new(
            years_of(names)
                .filter(move |(_, year)| *from <= *year && *year <= *to)
                .map(|(name, _)| name.to_string()),
        ),
        Atom::Has(class) => {
            let wanted = format!("class:{class}");
            Box::new(
                names
                    .iter()
                    .filter(move |name| name.as_ref() == wanted)
                    .map(|name| name.as_ref().to_string()),
            )
        }
    }
}

/// The records one term names, from the index's named scope bitmaps
/// (`dataset:NAME`, `year:YYYY`, `class:KIND`): the union of every name the term
/// matches. `names` lists the bitmaps the index has; `get` fetches one.
pub fn resolve_atom<S: AsRef<str>>(
    atom: &Atom,
    names: &[S],
    get: &dyn Fn(&str) -> Option<RoaringBitmap>,
) -> RoaringBitmap {
    let mut records = RoaringBitmap::new();
    for name in matching_names(atom, names) {
        if let Some(bitmap) = get(&name) {
            records |= bitmap;
        }
    }
    records
}

/// Whether a term names at least one of the index's scope bitmaps; a term that names
/// none is probably a typo worth a warning.
pub fn atom_names_any<S: AsRef<str>>(atom: &Atom, names: &[S]) -> bool {
    matching_names(atom, names).next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn atom(text: &str) -> Scope {
        match parse_atom(text) {
            Ok(atom) => Scope::Atom(atom),
            Err(problem) => panic!("{text}: {problem}"),
        }
    }

    fn parse(text: &str) -> Scope {
        match Scope::parse(text) {
            Ok(scope) => scope,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> ScopeError {
        match Scope::parse(text) {
            Ok(scope) => panic!("{text} parsed as {scope:?}"),
            Err(e) => e,
        }
    }

    fn not(s: Scope) -> Scope {
        Scope::Not(Box::new(s))
    }
    fn and(a: Scope, b: Scope) -> Scope {
        Scope::And(Box::new(a), Box::new(b))
    }
    fn or(a: Scope, b: Scope) -> Scope {
        Scope::Or(Box::new(a), Box::new(b))
    }

    #[test]
    fn terms() {
        assert_eq!(
            parse("dataset:council_tax_*.csv"),
            Scope::Atom(Atom::Dataset("council_tax_*.csv".into()))
        );
        assert_eq!(
            parse("year:2006..2020"),
            Scope::Atom(Atom::Years {
                from: 2006,
                to: 2020
            })
        );
        assert_eq!(
            parse("YEAR:2011"),
            Scope::Atom(Atom::Years {
                from: 2011,
                to: 2011
            })
        );
        assert_eq!(
            parse("year:..2010"),
            Scope::Atom(Atom::Years { from: 0, to: 2010 })
        );
        assert_eq!(
            parse("has:NI_Number"),
            Scope::Atom(Atom::Has(DataClass::Kind(FieldKind::NiNumber)))
        );
        assert_eq!(
            parse(r#"has:"other:Case Notes""#),
            Scope::Atom(Atom::Has(DataClass::Other("Case Notes".into())))
        );
        assert_eq!(
            parse(r#"dataset:"old \"x\" (copy).csv""#),
            Scope::Atom(Atom::Dataset(r#"old "x" (copy).csv"#.into()))
        );
    }

    #[test]
    fn precedence_not_and_or() {
        assert_eq!(
            parse("dataset:a or dataset:b and not year:2010"),
            or(
                atom("dataset:a"),
                and(atom("dataset:b"), not(atom("year:2010")))
            )
        );
        assert_eq!(
            parse("(dataset:a OR dataset:b) And has:email"),
            and(or(atom("dataset:a"), atom("dataset:b")), atom("has:email"))
        );
        assert_eq!(parse("not not has:dob"), not(not(atom("has:dob"))));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = error("dataset:x and (year:2010");
        assert_eq!(e.problem, ScopeProblem::ExpectedClose);
        assert_eq!(e.position, 25);
        assert_eq!(
            e.to_string(),
            "expected ')' at position 25: dataset:x and (year:2010"
        );
        let cases: &[(&str, ScopeProblem, usize)] = &[
            ("", ScopeProblem::Empty, 1),
            ("dataset:a and", ScopeProblem::ExpectedTerm, 14),
            (
                "dataset:a has:dob",
                ScopeProblem::ExpectedOperator("has:dob".into()),
                11,
            ),
            ("dataset:a)", ScopeProblem::UnmatchedClose, 10),
            ("datset:a", ScopeProblem::UnknownTerm("datset:a".into()), 1),
            (
                "council.csv",
                ScopeProblem::UnknownTerm("council.csv".into()),
                1,
            ),
            ("dataset:", ScopeProblem::MissingValue("dataset"), 1),
            ("year:20x0", ScopeProblem::BadYear("20x0".into()), 1),
            ("year:99999", ScopeProblem::BadYear("99999".into()), 1),
            (
                "not year:2020..2006",
                ScopeProblem::BackwardsYears {
                    from: 2020,
                    to: 2006,
                },
                5,
            ),
            ("has:emial", ScopeProblem::BadClass("emial".into()), 1),
            ("has:ignore", ScopeProblem::BadClass("ignore".into()), 1),
            ("has:other:", ScopeProblem::BadClass("other:".into()), 1),
            ("dataset:\"abc", ScopeProblem::UnterminatedQuote, 9),
            ("( or dataset:a)", ScopeProblem::ExpectedTerm, 3),
        ];
        for (text, problem, position) in cases {
            let e = error(text);
            assert_eq!((&e.problem, e.position), (problem, *position), "{text}");
        }
        let deep = format!("{}has:dob{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(error(&deep).problem, ScopeProblem::TooDeep);
        let nots = format!("{}has:dob", "not ".repeat(500));
        assert_eq!(error(&nots).problem, ScopeProblem::TooDeep);
    }

    #[test]
    fn printing_uses_only_needed_parentheses() {
        let text = "dataset:a or dataset:b and not (year:2010 or has:other:x)";
        assert_eq!(parse(text).to_string(), text);
        let right_nested = or(atom("dataset:a"), or(atom("dataset:b"), atom("dataset:c")));
        assert_eq!(
            right_nested.to_string(),
            "dataset:a or (dataset:b or dataset:c)"
        );
        assert_eq!(
            Scope::Atom(Atom::Dataset("my file.csv".into())).to_string(),
            "dataset:\"my file.csv\""
        );
    }

    #[test]
    fn glob() {
        assert!(glob_match("council_tax_*.csv", "council_tax_2006.csv"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("archive.sql#*", "archive.sql#residents"));
        assert!(glob_match("*a*b*", "xxaxxbxx"));
        assert!(!glob_match("*a*b", "xxaxxbxxc"));
        assert!(!glob_match("Council*", "council_tax.csv"));
        assert!(glob_match("**", "anything"));
    }

    const NAMES: [&str; 8] = [
        "dataset:tax_2006.csv",
        "dataset:tax_2010.csv",
        "dataset:archive.sql#residents",
        "year:2006",
        "year:2010",
        "year:2011",
        "class:email",
        "class:other:Notes",
    ];

    fn bitmap(name: &str) -> Option<RoaringBitmap> {
        let ids: &[u32] = match name {
            "dataset:tax_2006.csv" => &[0, 1, 2],
            "dataset:tax_2010.csv" => &[3, 4],
            "dataset:archive.sql#residents" => &[5, 6, 7],
            "year:2006" => &[0, 1, 2, 5],
            "year:2010" => &[3, 4, 6],
            "year:2011" => &[7],
            "class:email" => &[1, 3, 5],
            "class:other:Notes" => &[7],
            _ => return None,
        };
        Some(ids.iter().copied().collect())
    }

    fn records(expression: &str) -> Vec<u32> {
        let universe: RoaringBitmap = (0..8).collect();
        parse(expression)
            .eval(&universe, &|a| resolve_atom(a, &NAMES, &bitmap))
            .iter()
            .collect()
    }

    #[test]
    fn evaluates_as_bitmap_algebra() {
        assert_eq!(records("dataset:tax_*"), [0, 1, 2, 3, 4]);
        assert_eq!(records("year:2010..2011"), [3, 4, 6, 7]);
        assert_eq!(records("year:2007..2009"), Vec::<u32>::new());
        assert_eq!(records("has:email and not dataset:tax_2010.csv"), [1, 5]);
        assert_eq!(records("has:other:Notes or year:2006"), [0, 1, 2, 5, 7]);
        assert_eq!(records("not (dataset:tax_* or has:email)"), [6, 7]);
        assert_eq!(records("dataset:nothing*"), Vec::<u32>::new());
        // An SQL file's name stands for all its tables; a table name for itself.
        assert_eq!(records("dataset:archive.sql"), [5, 6, 7]);
        assert_eq!(records("dataset:*.sql"), [5, 6, 7]);
        assert_eq!(records("dataset:archive.sql#residents"), [5, 6, 7]);
        assert_eq!(records("dataset:archive.sql#members"), Vec::<u32>::new());
        assert_eq!(records("dataset:archive"), Vec::<u32>::new());
    }

    #[test]
    fn reports_terms_naming_nothing() {
        let scope = parse("dataset:tax_* and (year:2030 or has:passport)");
        let unknown: Vec<String> = scope
            .atoms()
            .into_iter()
            .filter(|a| !atom_names_any(a, &NAMES))
            .map(|a| a.to_string())
            .collect();
        assert_eq!(unknown, ["year:2030", "has:passport"]);
    }

    fn arb_atom() -> impl Strategy<Value = Atom> {
        prop_oneof![
            "[ -~]{1,12}".prop_map(Atom::Dataset),
            "\\PC{1,8}".prop_map(Atom::Dataset),
            (any::<u16>(), any::<u16>()).prop_map(|(a, b)| Atom::Years {
                from: a.min(b),
                to: a.max(b)
            }),
            proptest::sample::select(
                FieldKind::ALL
                    .iter()
                    .copied()
                    .filter(|k| *k != FieldKind::Ignore)
                    .collect::<Vec<_>>()
            )
            .prop_map(|k| Atom::Has(DataClass::Kind(k))),
            "[ -~]{1,10}".prop_map(|c| Atom::Has(DataClass::Other(c))),
        ]
    }

    fn arb_scope() -> impl Strategy<Value = Scope> {
        arb_atom()
            .prop_map(Scope::Atom)
            .prop_recursive(6, 40, 2, |inner| {
                prop_oneof![
                    inner.clone().prop_map(|s| Scope::Not(Box::new(s))),
                    (inner.clone(), inner.clone())
                        .prop_map(|(a, b)| Scope::And(Box::new(a), Box::new(b))),
                    (inner.clone(), inner).prop_map(|(a, b)| Scope::Or(Box::new(a), Box::new(b))),
                ]
            })
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,40}") {
            let _ = Scope::parse(&text);
        }

        #[test]
        fn parser_never_panics_on_near_misses(
            words in proptest::collection::vec(
                "\\(|\\)|and|or|not|dataset:[a-z*?\"]{0,3}|year:[0-9.]{0,9}|has:[a-z_:]{0,9}|\"",
                0..12,
            )
        ) {
            let _ = Scope::parse(&words.join(" "));
        }

        #[test]
        fn printing_then_parsing_round_trips(scope in arb_scope()) {
            let text = scope.to_string();
            prop_assert_eq!(Scope::parse(&text), Ok(scope), "{}", text);
        }

        #[test]
        fn not_is_the_complement(scope in arb_scope()) {
            let universe: RoaringBitmap = (0..8).collect();
            let resolve = |a: &Atom| resolve_atom(a, &NAMES, &bitmap);
            let inside = scope.eval(&universe, &resolve);
            let outside = Scope::Not(Box::new(scope)).eval(&universe, &resolve);
            prop_assert!(inside.is_disjoint(&outside));
            prop_assert_eq!(inside | outside, universe);
        }
    }
}
