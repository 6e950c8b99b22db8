//! Streaming reader of an org folder: parse, check, hand on.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::index::IdMap;
use super::line::{Obj, Problems};
use super::{FileKind, OrgSink, ReadError, Record};
use crate::Id;
use crate::custom::{CustomFieldDef, CustomSchema, CustomValues};
use crate::entity::*;
use crate::enums::*;
use crate::time::{Instant, LocalTime};

/// The longest line a file of the format may hold, in bytes: a generated record is under a
/// kilobyte, and a record the API writes with a hundred custom texts at their longest (10,000
/// characters) about as much as this.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// How far a read has come, for progress bars.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub file: FileKind,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What was read: records per file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub counts: BTreeMap<FileKind, u64>,
}

impl ReadSummary {
    pub fn count(&self, kind: FileKind) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }
}

const NO_STAGE: u32 = u32::MAX;
/// An index not known because its record has problems of its own.
const NONE: u32 = u32::MAX;

struct AppInfo {
    job: u32,
    current_stage: u32,
    applied_at: i64,
    line: u32,
}

struct Transition {
    app: u32,
    at: i64,
    from: u32,
    to: u32,
    line: u32,
}

/// What is known of the records read so far, to resolve references.
struct Index {
    departments: IdMap<u32>,
    users: IdMap<u32>,
    emails: HashMap<String, u32>,
    sources: IdMap<u32>,
    custom: CustomSchema,
    custom_ids: IdMap<u32>,
    jobs: IdMap<u32>,
    job_lines: Vec<u32>,
    stages: IdMap<u32>,
    stage_job: Vec<u32>,
    stage_ids: Vec<Box<str>>,
    candidates: IdMap<u32>,
    apps: IdMap<u32>,
    app_info: Vec<AppInfo>,
    transitions: IdMap<u32>,
    chain: Vec<Transition>,
    interviews: IdMap<(u32, u32)>,
    feedback: IdMap<u32>,
    offers: IdMap<u32>,
    offer_versions: HashMap<(u32, u32), u32>,
    pools: IdMap<u32>,
}

impl Index {
    fn new() -> Index {
        Index {
            departments: IdMap::new(),
            users: IdMap::new(),
            emails: HashMap::new(),
            sources: IdMap::new(),
            custom: CustomSchema::default(),
            custom_ids: IdMap::new(),
            jobs: IdMap::new(),
            job_lines: Vec::new(),
            stages: IdMap::new(),
            stage_job: Vec::new(),
            stage_ids: Vec::new(),
            candidates: IdMap::new(),
            apps: IdMap::new(),
            app_info: Vec::new(),
            transitions: IdMap::new(),
            chain: Vec::new(),
            interviews: IdMap::new(),
            feedback: IdMap::new(),
            offers: IdMap::new(),
            offer_versions: HashMap::new(),
            pools: IdMap::new(),
        }
    }
}

fn line32(line: u64) -> u32 {
    u32::try_from(line).unwrap_or(u32::MAX)
}

/// Records `id` as new in `map`; reports a duplicate at `field` `id`.
fn new_id<V: Copy>(
    o: &mut Obj<'_, '_>,
    map: &mut IdMap<V>,
    id: &Id,
    value: V,
    line_of: fn(V) -> u32,
) -> bool {
    match map.insert(id.as_str(), value) {
        Ok(()) => true,
        Err(prev) => {
            o.problem(
                "id",
                format!(
                    "duplicate id `{id}`: already used on line {}",
                    line_of(prev)
                ),
            );
            false
        }
    }
}

/// Reads the record's `id` and registers it at once, so that references to a record that has
/// other problems still resolve (one mistake, one message). `None` if missing, bad or a duplicate.
fn own_id<V: Copy>(
    o: &mut Obj<'_, '_>,
    map: &mut IdMap<V>,
    value: V,
    line_of: fn(V) -> u32,
) -> Option<Id> {
    let id = o.id("id")?;
    new_id(o, map, &id, value, line_of).then_some(id)
}

/// Checks that an optional reference resolves; reports otherwise.
fn resolves<V: Copy>(
    o: &mut Obj<'_, '_>,
    field: &str,
    map: &IdMap<V>,
    id: &Id,
    what: FileKind,
) -> Option<V> {
    let v = map.get(id.as_str());
    if v.is_none() {
        o.problem(
            field,
            format!("unknown reference `{id}`: no such id in {what}"),
        );
    }
    v
}

/// Reads the org folder `dir` into `sink`, checking every rule of the format.
///
/// On success every record has been handed to the sink. If any problem is found the sink stops
/// receiving records at the first one, the rest of the folder is still checked, and
/// [`ReadError::Invalid`] lists what was found: the caller must discard what the sink received.
pub fn read_org<S: OrgSink>(
    dir: &Path,
    sink: &mut S,
    progress: &mut dyn FnMut(Progress),
) -> Result<ReadSummary, ReadError<S::Error>> {
    // A folder that is not there is one plain error, not a problem per file it should hold.
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(ReadError::Io {
                path: dir.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotADirectory,
                    "not a directory: an org is a folder of files",
                ),
            });
        }
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(ReadError::Io {
                path: dir.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
        Err(source) => {
            return Err(ReadError::Io {
                path: dir.to_owned(),
                source,
            });
        }
    }
    let mut r = Reader {
        dir,
        sink,
        problems: Problems::default(),
        idx: Index::new(),
        summary: ReadSummary::default(),
        progress,
        bytes_total: 0,
        bytes_before: 0,
    };
    for kind in FileKind::ALL {
        if let Ok(meta) = std::fs::metadata(dir.join(kind.file_name())) {
            r.bytes_total += meta.len();
        }
    }
    r.read_org_json()?;
    r.read_departments()?;
    r.each_line(FileKind::Users, Reader::<S>::user)?;
    r.each_line(FileKind::Sources, Reader::<S>::source)?;
    r.each_line(FileKind::CustomFields, Reader::<S>::custom_field)?;
    r.each_line(FileKind::Jobs, Reader::<S>::job)?;
    r.each_line(FileKind::Candidates, Reader::<S>::candidate)?;
    r.each_line(FileKind::Applications, Reader::<S>::application)?;
    r.each_line(FileKind::StageTransitions, Reader::<S>::transition)?;
    r.check_chains();
    r.each_line(FileKind::Interviews, Reader::<S>::interview)?;
    r.each_line(FileKind::Feedback, Reader::<S>::feedback)?;
    r.each_line(FileKind::Offers, Reader::<S>::offer)?;
    r.check_offer_versions();
    r.each_line(FileKind::InterviewerPools, Reader::<S>::pool)?;
    r.each_line(FileKind::BusyBlocks, Reader::<S>::busy_block)?;
    if r.problems.is_empty() {
        Ok(r.summary)
    } else {
        Err(ReadError::Invalid {
            total: r.problems.total,
            problems: r.problems.list,
        })
    }
}

struct Reader<'a, S: OrgSink> {
    dir: &'a Path,
    sink: &'a mut S,
    problems: Problems,
    idx: Index,
    summary: ReadSummary,
    progress: &'a mut dyn FnMut(Progress),
    bytes_total: u64,
    bytes_before: u64,
}

type Handler<S> = for<'l, 'p> fn(
    &mut Index,
    &mut Obj<'l, 'p>,
    &mut dyn FnMut(Record<'_>) -> Result<(), <S as OrgSink>::Error>,
) -> Result<(), <S as OrgSink>::Error>;

impl<'a, S: OrgSink> Reader<'a, S> {
    fn emit(&mut self, kind: FileKind, record: Record<'_>) -> Result<(), ReadError<S::Error>> {
        *self.summary.counts.entry(kind).or_default() += 1;
        if self.problems.is_empty() {
            self.sink.record(record).map_err(ReadError::Sink)?;
        }
        Ok(())
    }

    fn open(&self, kind: FileKind) -> Result<Option<BufReader<File>>, ReadError<S::Error>> {
        let path = self.dir.join(kind.file_name());
        match File::open(&path) {
            Ok(f) => Ok(Some(BufReader::with_capacity(1 << 16, f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ReadError::Io { path, source }),
        }
    }

    /// Calls `handle` for every non-blank line of `kind`'s file, as an [`Obj`].
    fn lines(
        &mut self,
        kind: FileKind,
        mut handle: impl FnMut(&mut Self, u64, &str) -> Result<(), ReadError<S::Error>>,
    ) -> Result<(), ReadError<S::Error>> {
        let Some(mut file) = self.open(kind)? else {
            return Ok(());
        };
        let path = self.dir.join(kind.file_name());
        let mut buf = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        let mut done = 0u64;
        let io = |source| ReadError::Io {
            path: path.clone(),
            source,
        };
        loop {
            buf.clear();
            // At most a line's bound held: a longer line is a problem, read past, never held
            // (red team, pass 15: a 200 MB name imported at 1.28 GB, and every page that read
            // it afterwards held it).
            let n = (&mut file)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(io)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            done += n as u64;
            if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
                loop {
                    let chunk = file.fill_buf().map_err(io)?;
                    if chunk.is_empty() {
                        break;
                    }
                    let (used, end) = match chunk.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (chunk.len(), false),
                    };
                    file.consume(used);
                    done += used as u64;
                    if end {
                        break;
                    }
                }
                self.problems.push(
                    kind,
                    line_no,
                    "",
                    format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                );
                continue;
            }
            match std::str::from_utf8(&buf) {
                Ok(text) if text.trim().is_empty() => {}
                Ok(text) => handle(self, line_no, text)?,
                Err(e) => self.problems.push(
                    kind,
                    line_no,
                    "",
                    format!("not valid UTF-8 (byte {} of the line)", e.valid_up_to() + 1),
                ),
            }
            if line_no.is_multiple_of(4096) {
                (self.progress)(Progress {
                    file: kind,
                    bytes_done: self.bytes_before + done,
                    bytes_total: self.bytes_total,
                });
            }
        }
        self.bytes_before += done;
        (self.progress)(Progress {
            file: kind,
            bytes_done: self.bytes_before,
            bytes_total: self.bytes_total,
        });
        Ok(())
    }

    fn each_line(
        &mut self,
        kind: FileKind,
        handler: Handler<S>,
    ) -> Result<(), ReadError<S::Error>> {
        self.lines(kind, |r, line, text| {
            let Some(mut o) = Obj::parse(kind, line, text, &mut r.problems) else {
                return Ok(());
            };
            let feeding = o.problems.is_empty();
            let mut count = 0u64;
            let sink = &mut *r.sink;
            let mut emit = |rec: Record<'_>| {
                count += 1;
                if feeding { sink.record(rec) } else { Ok(()) }
            };
            handler(&mut r.idx, &mut o, &mut emit).map_err(ReadError::Sink)?;
            o.finish();
            *r.summary.counts.entry(kind).or_default() += count;
            Ok(())
        })
    }

    fn read_org_json(&mut self) -> Result<(), ReadError<S::Error>> {
        let kind = FileKind::Org;
        let path = self.dir.join(kind.file_name());
        let mut text = String::new();
        match File::open(&path) {
            Ok(mut f) => {
                if let Err(source) = f.read_to_string(&mut text) {
                    if source.kind() == std::io::ErrorKind::InvalidData {
                        self.problems.push(kind, 1, "", "not valid UTF-8".into());
                        return Ok(());
                    }
                    return Err(ReadError::Io { path, source });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.problems.push(
                    kind,
                    0,
                    "",
                    format!("missing: an org folder needs `{kind}`"),
                );
                return Ok(());
            }
            Err(source) => return Err(ReadError::Io { path, source }),
        }
        self.bytes_before += text.len() as u64;
        let first = self.problems.list.len();
        let org = (|| {
            let mut o = Obj::parse(kind, 1, &text, &mut self.problems)?;
            let format = o.text("format");
            if let Some(f) = &format
                && f != FORMAT
            {
                o.problem(
                    "format",
                    format!("`{f}` is not supported; expected `{FORMAT}`"),
                );
            }
            let org = (|| {
                let (id, name, timezone, created_at) = (
                    o.id("id"),
                    o.non_empty_text("name"),
                    o.zone("timezone"),
                    o.instant("created_at"),
                );
                Some(Org {
                    format: FORMAT,
                    id: id?,
                    name: name?,
                    timezone: timezone?,
                    created_at: created_at?,
                })
            })();
            o.finish().then_some(org).flatten()
        })();
        // org.json is one object over several lines: point each problem at the line of its field.
        for p in self.problems.list.iter_mut().skip(first) {
            if let Some(name) = p.field.split('.').next().filter(|n| !n.is_empty()) {
                let needle = format!("\"{name}\"");
                if let Some(at) = text.find(&needle) {
                    p.line = 1 + text[..at].matches('\n').count() as u64;
                }
            }
        }
        if let Some(org) = org {
            self.emit(kind, Record::Org(&org))?;
        }
        Ok(())
    }

    /// Departments form a tree: read them all (an org has few), check parents and cycles, and hand
    /// them on parents first.
    fn read_departments(&mut self) -> Result<(), ReadError<S::Error>> {
        let kind = FileKind::Departments;
        let mut all: Vec<(u64, Department)> = Vec::new();
        self.lines(kind, |r, line, text| {
            let Some(mut o) = Obj::parse(kind, line, text, &mut r.problems) else {
                return Ok(());
            };
            let d = (|| {
                {
                    // Every field is read, even after a bad one, so each gets its own message.
                    let (id, name, parent_id) =
                        (o.id("id"), o.non_empty_text("name"), o.opt_id("parent_id"));
                    Some(Department {
                        id: id?,
                        name: name?,
                        parent_id: parent_id?,
                    })
                }
            })();
            if let Some(d) = d
                && new_id(&mut o, &mut r.idx.departments, &d.id, line32(line), |l| l)
            {
                all.push((line, d));
            }
            o.finish();
            Ok(())
        })?;
        // Children by parent; roots first, breadth first.
        let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut queue = VecDeque::new();
        for (i, (line, d)) in all.iter().enumerate() {
            match &d.parent_id {
                None => queue.push_back(i),
                Some(p) if self.idx.departments.get(p.as_str()).is_none() => self.problems.push(
                    kind,
                    *line,
                    "parent_id",
                    format!("unknown reference `{p}`: no such id in {kind}"),
                ),
                Some(p) if *p == d.id => self.problems.push(
                    kind,
                    *line,
                    "parent_id",
                    format!("`{p}` is the department itself"),
                ),
                Some(p) => children.entry(p.as_str()).or_default().push(i),
            }
        }
        let mut reached = vec![false; all.len()];
        let mut order = Vec::with_capacity(all.len());
        while let Some(i) = queue.pop_front() {
            reached[i] = true;
            order.push(i);
            if let Some(kids) = children.get(all[i].1.id.as_str()) {
                queue.extend(kids.iter().copied());
            }
        }
        for (i, (line, d)) in all.iter().enumerate() {
            if !reached[i]
                && d.parent_id
                    .as_ref()
                    .is_some_and(|p| *p != d.id && self.idx.departments.get(p.as_str()).is_some())
            {
                self.problems.push(
                    kind,
                    *line,
                    "parent_id",
                    format!("department `{}` is part of a cycle of parents", d.id),
                );
            }
        }
        for i in order {
            self.emit(kind, Record::Department(&all[i].1))?;
        }
        Ok(())
    }
}

type Emit<'e, E> = dyn FnMut(Record<'_>) -> Result<(), E> + 'e;

impl<S: OrgSink> Reader<'_, S> {
    fn user(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let line = line32(o.line);
        let id = own_id(o, &mut idx.users, line, |l| l);
        let name = o.non_empty_text("name");
        let email = o.non_empty_text("email");
        let role = o.enumeration("role", Role::parse);
        let department_ids = o.string_list("department_ids").and_then(|ids| {
            let mut out = Vec::with_capacity(ids.len());
            for (i, d) in ids.into_iter().enumerate() {
                let field = format!("department_ids[{i}]");
                let d = o.check(&field, Id::parse(d))?;
                resolves(o, &field, &idx.departments, &d, FileKind::Departments)?;
                out.push(d);
            }
            Some(out)
        });
        let timezone = o.zone("timezone");
        let working_hours = working_hours(o);
        let max_day = o.opt_uint("max_interviews_per_day", 0);
        let max_week = o.opt_uint("max_interviews_per_week", 0);
        let active = o.boolean("active");
        if let Some(email) = &email
            && let Err(prev) = insert_once(&mut idx.emails, email.to_lowercase(), line)
        {
            o.problem(
                "email",
                format!("`{email}` is already the email of the user on line {prev}"),
            );
        }
        let (
            Some(id),
            Some(name),
            Some(email),
            Some(role),
            Some(department_ids),
            Some(timezone),
            Some(working_hours),
            Some(max_interviews_per_day),
            Some(max_interviews_per_week),
            Some(active),
        ) = (
            id,
            name,
            email,
            role,
            department_ids,
            timezone,
            working_hours,
            max_day,
            max_week,
            active,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::User(&User {
            id,
            name,
            email,
            role,
            department_ids,
            timezone,
            working_hours,
            max_interviews_per_day,
            max_interviews_per_week,
            active,
        }))
    }

    fn source(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.sources, line32(o.line), |l| l);
        let s = (|| {
            let (name, kind) = (
                o.non_empty_text("name"),
                o.enumeration("kind", SourceKind::parse),
            );
            Some(Source {
                id: id?,
                name: name?,
                kind: kind?,
            })
        })();
        let Some(s) = s else { return Ok(()) };
        if !o.failed {
            emit(Record::Source(&s))?;
        }
        Ok(())
    }

    fn custom_field(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.custom_ids, line32(o.line), |l| l);
        let d = (|| {
            let entity = o.enumeration("entity", CustomEntity::parse);
            let key = o.non_empty_text("key");
            let label = o.non_empty_text("label");
            let field_type = o.enumeration("type", CustomFieldType::parse);
            let options = o.string_list("options");
            let sensitive = o.boolean("sensitive");
            Some(CustomFieldDef {
                id: id?,
                entity: entity?,
                key: key?,
                label: label?,
                field_type: field_type?,
                options: options?,
                sensitive: sensitive?,
            })
        })();
        let Some(d) = d else { return Ok(()) };
        let is_choice = matches!(
            d.field_type,
            CustomFieldType::Select | CustomFieldType::MultiSelect
        );
        if is_choice && d.options.is_empty() {
            o.problem(
                "options",
                format!("a {} field needs at least one option", d.field_type),
            );
        }
        if !is_choice && !d.options.is_empty() {
            o.problem(
                "options",
                format!("a {} field takes no options", d.field_type),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for opt in &d.options {
            if !seen.insert(opt) {
                o.problem("options", format!("`{opt}` is listed twice"));
            }
        }
        if !d.key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            o.problem(
                "key",
                format!("`{}` must consist of letters, digits and `_`", d.key),
            );
        }
        if o.failed {
            return Ok(());
        }
        if let Err(prev) = idx.custom.insert(d.clone()) {
            let msg = format!(
                "`{}` is already a custom field of {}s (`{}`)",
                d.key, d.entity, prev.id
            );
            o.problem("key", msg);
            return Ok(());
        }
        emit(Record::CustomField(&d))
    }

    fn job(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let line = line32(o.line);
        let job_idx = u32::try_from(idx.job_lines.len()).unwrap_or(NONE);
        let id = own_id(o, &mut idx.jobs, job_idx, |i| i);
        if id.is_some() {
            idx.job_lines.push(line);
        }
        let title = o.non_empty_text("title");
        let department_id = o.id("department_id");
        if let Some(d) = &department_id {
            resolves(
                o,
                "department_id",
                &idx.departments,
                d,
                FileKind::Departments,
            );
        }
        let location = o.text("location");
        let employment_type = o.enumeration("employment_type", EmploymentType::parse);
        let status = o.enumeration("status", JobStatus::parse);
        let confidential = o.boolean("confidential");
        let opened_at = o.instant("opened_at");
        let closed_at = o.opt_instant("closed_at");
        if let (Some(open), Some(Some(close))) = (opened_at, closed_at)
            && close < open
        {
            o.problem(
                "closed_at",
                format!("`{close}` is before `opened_at` `{open}`"),
            );
        }
        let headcount = o.uint("headcount", 1);
        let hiring_team = hiring_team(idx, o);
        let stages = stages(idx, o);
        // Stage ids are unique across the org, and known from here on.
        if let (Some(_), Some(stages)) = (&id, &stages) {
            for (i, s) in stages.iter().enumerate() {
                let stage_idx = u32::try_from(idx.stage_ids.len()).unwrap_or(NONE);
                if let Err(prev) = idx.stages.insert(s.id.as_str(), stage_idx) {
                    let other = idx
                        .stage_job
                        .get(prev as usize)
                        .and_then(|j| idx.job_lines.get(*j as usize))
                        .copied()
                        .unwrap_or(0);
                    o.problem(
                        &format!("stages[{i}].id"),
                        format!(
                            "duplicate stage id `{}`: already a stage of the job on line {other}",
                            s.id
                        ),
                    );
                    continue;
                }
                idx.stage_ids.push(s.id.as_str().into());
                idx.stage_job.push(job_idx);
            }
        }
        let custom_fields = custom_fields(idx, o, CustomEntity::Job);
        let (
            Some(id),
            Some(title),
            Some(department_id),
            Some(location),
            Some(employment_type),
            Some(status),
            Some(confidential),
            Some(opened_at),
            Some(closed_at),
            Some(headcount),
            Some(hiring_team),
            Some(stages),
            Some(custom_fields),
        ) = (
            id,
            title,
            department_id,
            location,
            employment_type,
            status,
            confidential,
            opened_at,
            closed_at,
            headcount,
            hiring_team,
            stages,
            custom_fields,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::Job(&Job {
            id,
            title,
            department_id,
            location,
            employment_type,
            status,
            confidential,
            opened_at,
            closed_at,
            headcount,
            hiring_team,
            stages,
            custom_fields,
        }))
    }

    fn candidate(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.candidates, line32(o.line), |l| l);
        let name = o.non_empty_text("name");
        let email = o.opt_text("email");
        let phone = o.opt_text("phone");
        let location = o.opt_text("location");
        let timezone = o.opt_zone("timezone");
        let created_at = o.instant("created_at");
        let tags = o.string_list("tags");
        let custom_fields = custom_fields(idx, o, CustomEntity::Candidate);
        let demographics = demographics(o);
        let (
            Some(id),
            Some(name),
            Some(email),
            Some(phone),
            Some(location),
            Some(timezone),
            Some(created_at),
            Some(tags),
            Some(custom_fields),
            Some(demographics),
        ) = (
            id,
            name,
            email,
            phone,
            location,
            timezone,
            created_at,
            tags,
            custom_fields,
            demographics,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::Candidate(&Candidate {
            id,
            name,
            email,
            phone,
            location,
            timezone,
            created_at,
            tags,
            custom_fields,
            demographics,
        }))
    }

    fn application(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let app_idx = u32::try_from(idx.app_info.len()).unwrap_or(NONE);
        let id = own_id(o, &mut idx.apps, app_idx, |i| i);
        if id.is_some() {
            idx.app_info.push(AppInfo {
                job: NONE,
                current_stage: NONE,
                applied_at: 0,
                line: line32(o.line),
            });
        }
        let candidate_id = o.id("candidate_id");
        if let Some(c) = &candidate_id {
            resolves(o, "candidate_id", &idx.candidates, c, FileKind::Candidates);
        }
        let job_id = o.id("job_id");
        let job = job_id
            .as_ref()
            .and_then(|j| resolves(o, "job_id", &idx.jobs, j, FileKind::Jobs));
        let source_id = o.opt_id("source_id");
        if let Some(Some(s)) = &source_id {
            resolves(o, "source_id", &idx.sources, s, FileKind::Sources);
        }
        let credited = o.opt_id("credited_to_user_id");
        if let Some(Some(u)) = &credited {
            resolves(o, "credited_to_user_id", &idx.users, u, FileKind::Users);
        }
        let applied_at = o.instant("applied_at");
        let status = o.enumeration("status", ApplicationStatus::parse);
        let current_stage_id = o.id("current_stage_id");
        let stage = match (&current_stage_id, job) {
            (Some(s), Some(job)) => stage_of_job(idx, o, "current_stage_id", s, job),
            _ => None,
        };
        let hired_at = o.opt_instant("hired_at");
        let archived_at = o.opt_instant("archived_at");
        let archive_reason = o.opt_text("archive_reason");
        if let (Some(status), Some(hired_at), Some(archived_at), Some(reason)) =
            (status, &hired_at, &archived_at, &archive_reason)
        {
            let hired = status == ApplicationStatus::Hired;
            let archived = status == ApplicationStatus::Archived;
            if hired != hired_at.is_some() {
                o.problem(
                    "hired_at",
                    if hired {
                        "must be set when `status` is `hired`"
                    } else {
                        "must be null unless `status` is `hired`"
                    },
                );
            }
            if archived != archived_at.is_some() {
                o.problem(
                    "archived_at",
                    if archived {
                        "must be set when `status` is `archived`"
                    } else {
                        "must be null unless `status` is `archived`"
                    },
                );
            }
            if archived != reason.is_some() {
                o.problem(
                    "archive_reason",
                    if archived {
                        "must be set when `status` is `archived`"
                    } else {
                        "must be null unless `status` is `archived`"
                    },
                );
            }
            if let (Some(applied), Some(at)) = (applied_at, hired_at.or(*archived_at))
                && at < applied
            {
                let field = if hired { "hired_at" } else { "archived_at" };
                o.problem(field, format!("`{at}` is before `applied_at` `{applied}`"));
            }
        }
        let custom_fields = custom_fields(idx, o, CustomEntity::Application);
        let (
            Some(id),
            Some(candidate_id),
            Some(job_id),
            Some(source_id),
            Some(credited_to_user_id),
            Some(applied_at),
            Some(status),
            Some(current_stage_id),
            Some(hired_at),
            Some(archived_at),
            Some(archive_reason),
            Some(custom_fields),
        ) = (
            id,
            candidate_id,
            job_id,
            source_id,
            credited,
            applied_at,
            status,
            current_stage_id,
            hired_at,
            archived_at,
            archive_reason,
            custom_fields,
        )
        else {
            return Ok(());
        };
        let (Some(job), Some(stage)) = (job, stage) else {
            return Ok(());
        };
        if let Some(info) = idx.app_info.get_mut(app_idx as usize) {
            *info = AppInfo {
                job,
                current_stage: stage,
                applied_at: applied_at.as_micros(),
                line: line32(o.line),
            };
        }
        if o.failed {
            return Ok(());
        }
        emit(Record::Application(&Application {
            id,
            candidate_id,
            job_id,
            source_id,
            credited_to_user_id,
            applied_at,
            status,
            current_stage_id,
            hired_at,
            archived_at,
            archive_reason,
            custom_fields,
        }))
    }

    fn transition(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.transitions, line32(o.line), |l| l);
        let application_id = o.id("application_id");
        let app = application_id
            .as_ref()
            .and_then(|a| resolves(o, "application_id", &idx.apps, a, FileKind::Applications));
        let job = app
            .and_then(|a| idx.app_info.get(a as usize))
            .map(|a| a.job)
            .filter(|j| *j != NONE);
        let from_stage_id = o.opt_id("from_stage_id");
        let to_stage_id = o.id("to_stage_id");
        let from = match (&from_stage_id, job) {
            (Some(Some(s)), Some(job)) => stage_of_job(idx, o, "from_stage_id", s, job),
            (Some(None), _) => Some(NO_STAGE),
            _ => None,
        };
        let to = match (&to_stage_id, job) {
            (Some(s), Some(job)) => stage_of_job(idx, o, "to_stage_id", s, job),
            _ => None,
        };
        let at = o.instant("at");
        let by_user_id = o.opt_id("by_user_id");
        if let Some(Some(u)) = &by_user_id {
            resolves(o, "by_user_id", &idx.users, u, FileKind::Users);
        }
        let (
            Some(id),
            Some(application_id),
            Some(from_stage_id),
            Some(to_stage_id),
            Some(at),
            Some(by_user_id),
        ) = (
            id,
            application_id,
            from_stage_id,
            to_stage_id,
            at,
            by_user_id,
        )
        else {
            return Ok(());
        };
        if let (Some(app), Some(from), Some(to)) = (app, from, to) {
            idx.chain.push(Transition {
                app,
                at: at.as_micros(),
                from,
                to,
                line: line32(o.line),
            });
        }
        if o.failed {
            return Ok(());
        }
        emit(Record::StageTransition(&StageTransition {
            id,
            application_id,
            from_stage_id,
            to_stage_id,
            at,
            by_user_id,
        }))
    }

    fn interview(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let application_id = o.id("application_id");
        let app = application_id
            .as_ref()
            .and_then(|a| resolves(o, "application_id", &idx.apps, a, FileKind::Applications));
        let id = own_id(
            o,
            &mut idx.interviews,
            (app.unwrap_or(NONE), line32(o.line)),
            |(_, l)| l,
        );
        let job = app
            .and_then(|a| idx.app_info.get(a as usize))
            .map(|a| a.job)
            .filter(|j| *j != NONE);
        let stage_id = o.id("stage_id");
        if let (Some(s), Some(job)) = (&stage_id, job) {
            stage_of_job(idx, o, "stage_id", s, job);
        }
        let title = o.text("title");
        let starts_at = o.instant("starts_at");
        let ends_at = o.instant("ends_at");
        if let (Some(s), Some(e)) = (starts_at, ends_at)
            && e <= s
        {
            o.problem("ends_at", format!("`{e}` is not after `starts_at` `{s}`"));
        }
        let status = o.enumeration("status", InterviewStatus::parse);
        let interviewers = participants(idx, o);
        let (
            Some(id),
            Some(application_id),
            Some(stage_id),
            Some(title),
            Some(starts_at),
            Some(ends_at),
            Some(status),
            Some(interviewers),
        ) = (
            id,
            application_id,
            stage_id,
            title,
            starts_at,
            ends_at,
            status,
            interviewers,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::Interview(&Interview {
            id,
            application_id,
            stage_id,
            title,
            starts_at,
            ends_at,
            status,
            interviewers,
        }))
    }

    fn feedback(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.feedback, line32(o.line), |l| l);
        let interview_id = o.id("interview_id");
        let interview = interview_id
            .as_ref()
            .and_then(|i| resolves(o, "interview_id", &idx.interviews, i, FileKind::Interviews));
        let application_id = o.id("application_id");
        let app = application_id
            .as_ref()
            .and_then(|a| resolves(o, "application_id", &idx.apps, a, FileKind::Applications));
        if let (Some((iv_app, iv_line)), Some(app), Some(a)) = (interview, app, &application_id)
            && iv_app != app
            && iv_app != NONE
        {
            o.problem(
                "application_id",
                format!(
                    "`{a}` is not the application of the interview (interviews.jsonl:{iv_line})"
                ),
            );
        }
        let author_id = o.id("author_id");
        if let Some(a) = &author_id {
            resolves(o, "author_id", &idx.users, a, FileKind::Users);
        }
        let submitted_at = o.instant("submitted_at");
        let recommendation = o.enumeration("recommendation", Recommendation::parse);
        let scores = o.object("scores").and_then(|m| {
            let mut out = BTreeMap::new();
            for (attr, v) in m.unwrap_or_default() {
                match v.as_u64() {
                    Some(n @ 1..=4) => {
                        out.insert(attr, n as u8);
                    }
                    _ => {
                        o.problem(
                            &format!("scores.{attr}"),
                            format!("expected a score 1 to 4, got `{v}`"),
                        );
                        return None;
                    }
                }
            }
            Some(out)
        });
        let notes = o.opt_text("notes");
        let (
            Some(id),
            Some(interview_id),
            Some(application_id),
            Some(author_id),
            Some(submitted_at),
            Some(recommendation),
            Some(scores),
            Some(notes),
        ) = (
            id,
            interview_id,
            application_id,
            author_id,
            submitted_at,
            recommendation,
            scores,
            notes,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::Feedback(&Feedback {
            id,
            interview_id,
            application_id,
            author_id,
            submitted_at,
            recommendation,
            scores,
            notes,
        }))
    }

    fn offer(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let line = line32(o.line);
        let id = own_id(o, &mut idx.offers, line, |l| l);
        let application_id = o.id("application_id");
        let app = application_id
            .as_ref()
            .and_then(|a| resolves(o, "application_id", &idx.apps, a, FileKind::Applications));
        let version = o.uint("version", 1);
        if let (Some(app), Some(v), Some(a)) = (app, version, &application_id)
            && let Err(prev) = insert_once(&mut idx.offer_versions, (app, v), line)
        {
            o.problem(
                "version",
                format!("application `{a}` already has an offer version {v} (line {prev})"),
            );
        }
        let created_at = o.instant("created_at");
        let status = o.enumeration("status", OfferStatus::parse);
        let resolved_at = o.opt_instant("resolved_at");
        if let (Some(c), Some(Some(r))) = (created_at, resolved_at)
            && r < c
        {
            o.problem("resolved_at", format!("`{r}` is before `created_at` `{c}`"));
        }
        let start_date = o.opt_date("start_date");
        let salary = salary(o);
        let bonus = o.opt_number("bonus").and_then(|b| match b {
            Some(b) if b.is_nan() || b < 0.0 => {
                o.problem("bonus", format!("`{b}` must not be negative"));
                None
            }
            b => Some(b.map(Amount)),
        });
        let equity = o.opt_text("equity");
        let (
            Some(id),
            Some(application_id),
            Some(version),
            Some(created_at),
            Some(status),
            Some(resolved_at),
            Some(start_date),
            Some(salary),
            Some(bonus),
            Some(equity),
        ) = (
            id,
            application_id,
            version,
            created_at,
            status,
            resolved_at,
            start_date,
            salary,
            bonus,
            equity,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::Offer(&Offer {
            id,
            application_id,
            version,
            created_at,
            status,
            resolved_at,
            start_date,
            salary,
            bonus,
            equity,
        }))
    }

    fn pool(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let id = own_id(o, &mut idx.pools, line32(o.line), |l| l);
        let name = o.non_empty_text("name");
        let required_shadows = o.uint("required_shadows", 0);
        let required_reverse_shadows = o.uint("required_reverse_shadows", 0);
        let members = o.objects("members").and_then(|items| {
            let mut out: Vec<PoolMember> = Vec::with_capacity(items.len());
            let mut ok = true;
            for (path, fields) in items {
                let mut m = o.nested(path, fields);
                let member = (|| {
                    let user_id = m.id("user_id");
                    if let Some(u) = &user_id {
                        resolves(&mut m, "user_id", &idx.users, u, FileKind::Users);
                    }
                    let status = m.enumeration("status", PoolMemberStatus::parse);
                    let shadows_completed = m.uint("shadows_completed", 0);
                    let reverse_shadows_completed = m.uint("reverse_shadows_completed", 0);
                    Some(PoolMember {
                        user_id: user_id?,
                        status: status?,
                        shadows_completed: shadows_completed?,
                        reverse_shadows_completed: reverse_shadows_completed?,
                    })
                })();
                if let Some(member) = &member
                    && out.iter().any(|x| x.user_id == member.user_id)
                {
                    m.problem(
                        "user_id",
                        format!("`{}` is already a member of this pool", member.user_id),
                    );
                }
                ok &= m.finish();
                out.extend(member);
            }
            ok.then_some(out)
        });
        let (
            Some(id),
            Some(name),
            Some(required_shadows),
            Some(required_reverse_shadows),
            Some(members),
        ) = (
            id,
            name,
            required_shadows,
            required_reverse_shadows,
            members,
        )
        else {
            return Ok(());
        };
        if o.failed {
            return Ok(());
        }
        emit(Record::InterviewerPool(&InterviewerPool {
            id,
            name,
            required_shadows,
            required_reverse_shadows,
            members,
        }))
    }

    fn busy_block(
        idx: &mut Index,
        o: &mut Obj<'_, '_>,
        emit: &mut Emit<'_, S::Error>,
    ) -> Result<(), S::Error> {
        let user_id = o.id("user_id");
        if let Some(u) = &user_id {
            resolves(o, "user_id", &idx.users, u, FileKind::Users);
        }
        let starts_at = o.instant("starts_at");
        let ends_at = o.instant("ends_at");
        let (Some(user_id), Some(starts_at), Some(ends_at)) = (user_id, starts_at, ends_at) else {
            return Ok(());
        };
        if ends_at <= starts_at {
            o.problem(
                "ends_at",
                format!("`{ends_at}` is not after `starts_at` `{starts_at}`"),
            );
        }
        if o.failed {
            return Ok(());
        }
        emit(Record::BusyBlock(&BusyBlock {
            user_id,
            starts_at,
            ends_at,
        }))
    }

    /// Per application, ordered by `at` (then by line), transitions must form a chain from the
    /// entry at `applied_at` to the application's current stage.
    fn check_chains(&mut self) {
        let kind = FileKind::StageTransitions;
        let mut chain = std::mem::take(&mut self.idx.chain);
        chain.sort_unstable_by_key(|t| (t.app, t.at, t.line));
        let stage = |i: u32| self.idx.stage_ids.get(i as usize).map_or("?", |s| &**s);
        let mut has_chain = vec![false; self.idx.app_info.len()];
        for group in chain.chunk_by(|a, b| a.app == b.app) {
            let Some(first) = group.first() else { continue };
            let Some(app) = self
                .idx
                .app_info
                .get(first.app as usize)
                .filter(|a| a.job != NONE)
            else {
                continue;
            };
            if let Some(h) = has_chain.get_mut(first.app as usize) {
                *h = true;
            }
            if first.from != NO_STAGE {
                self.problems.push(kind, first.line.into(), "from_stage_id", format!("the first transition of an application must come from null (the entry into the pipeline), not `{}`", stage(first.from)));
            }
            if first.at != app.applied_at {
                let at = Instant::from_micros(first.at)
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                let applied = Instant::from_micros(app.applied_at)
                    .map(|i| i.to_string())
                    .unwrap_or_default();
                self.problems.push(kind, first.line.into(), "at", format!("`{at}` is the first transition of its application, so it must equal `applied_at` `{applied}` (applications.jsonl:{})", app.line));
            }
            for pair in group.windows(2) {
                let [prev, next] = pair else { continue };
                if next.from != prev.to {
                    let from = if next.from == NO_STAGE {
                        "null".to_owned()
                    } else {
                        format!("`{}`", stage(next.from))
                    };
                    self.problems.push(kind, next.line.into(), "from_stage_id", format!("{from} breaks the chain: the previous transition (line {}) ended in `{}`", prev.line, stage(prev.to)));
                }
            }
            if let Some(last) = group.last()
                && last.to != app.current_stage
            {
                self.problems.push(kind, last.line.into(), "to_stage_id", format!("the last transition of an application must end in its `current_stage_id` `{}` (applications.jsonl:{}), not `{}`", stage(app.current_stage), app.line, stage(last.to)));
            }
        }
        for (app, has) in self.idx.app_info.iter().zip(has_chain) {
            if !has && app.job != NONE {
                self.problems.push(FileKind::Applications, app.line.into(), "id", format!("no stage transitions in {kind}: an application needs at least its entry into the pipeline"));
            }
        }
    }

    /// Offer versions of an application are 1, 2, ... without gaps.
    fn check_offer_versions(&mut self) {
        let mut max: HashMap<u32, (u32, u32, u32)> = HashMap::new();
        for (&(app, v), &line) in &self.idx.offer_versions {
            let e = max.entry(app).or_insert((0, 0, 0));
            e.1 += 1;
            if v > e.0 {
                e.0 = v;
                e.2 = line;
            }
        }
        let mut gaps: Vec<(u32, u32, u32)> = max.into_values().filter(|(m, n, _)| m != n).collect();
        gaps.sort_unstable_by_key(|g| g.2);
        for (m, n, line) in gaps {
            self.problems.push(FileKind::Offers, line.into(), "version", format!("offer versions of an application must be 1, 2, ... without gaps: version {m} but {n} offer{}", if n == 1 { "" } else { "s" }));
        }
    }
}

fn insert_once<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, u32>,
    key: K,
    line: u32,
) -> Result<(), u32> {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(e) => Err(*e.get()),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(line);
            Ok(())
        }
    }
}

/// Resolves a stage id and checks that it is a stage of `job`.
fn stage_of_job(
    idx: &Index,
    o: &mut Obj<'_, '_>,
    field: &str,
    stage: &Id,
    job: u32,
) -> Option<u32> {
    let s = resolves(o, field, &idx.stages, stage, FileKind::Jobs)?;
    if idx.stage_job.get(s as usize) != Some(&job) {
        let line = idx.job_lines.get(job as usize).copied().unwrap_or(0);
        o.problem(
            field,
            format!("`{stage}` is not a stage of the application's job (jobs.jsonl:{line})"),
        );
        return None;
    }
    Some(s)
}

fn custom_fields(idx: &Index, o: &mut Obj<'_, '_>, entity: CustomEntity) -> Option<CustomValues> {
    let Some(map) = o.object("custom_fields")? else {
        return Some(CustomValues::default());
    };
    match idx.custom.check(entity, &map) {
        Ok(v) => Some(v),
        Err(errors) => {
            for e in errors {
                o.problem("custom_fields", e.to_string());
            }
            None
        }
    }
}

fn working_hours(o: &mut Obj<'_, '_>) -> Option<WorkingHours> {
    let map = o.object("working_hours")?.unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (day, spans) in map {
        let field = format!("working_hours.{day}");
        let Some(day) = o.check(&field, Weekday::parse(&day)) else {
            ok = false;
            continue;
        };
        let parsed = (|| {
            let spans: Vec<(String, String)> = match serde_json::from_value(spans) {
                Ok(s) => s,
                Err(_) => {
                    o.problem(&field, "expected a list of [\"HH:MM\", \"HH:MM\"] pairs");
                    return None;
                }
            };
            let mut list: Vec<(LocalTime, LocalTime)> = Vec::with_capacity(spans.len());
            for (a, b) in spans {
                let a = o.check(&field, LocalTime::parse(&a))?;
                let b = o.check(&field, LocalTime::parse(&b))?;
                if b <= a {
                    o.problem(&field, format!("`{b}` is not after `{a}`"));
                    return None;
                }
                if let Some((_, prev_end)) = list.last()
                    && a < *prev_end
                {
                    o.problem(&field, format!("`{a}` starts before the previous span ends at `{prev_end}`: spans must be in order and must not overlap"));
                    return None;
                }
                list.push((a, b));
            }
            Some(list)
        })();
        match parsed {
            Some(list) => {
                out.insert(day, list);
            }
            None => ok = false,
        }
    }
    ok.then_some(WorkingHours(out))
}

fn demographics(o: &mut Obj<'_, '_>) -> Option<Option<Demographics>> {
    let Some(map) = o.object("demographics")? else {
        return Some(None);
    };
    let mut d = Demographics::default();
    let mut ok = true;
    for (k, v) in map {
        let slot = match k.as_str() {
            "gender" => &mut d.gender,
            "race_ethnicity" => &mut d.race_ethnicity,
            "veteran_status" => &mut d.veteran_status,
            "disability_status" => &mut d.disability_status,
            _ => {
                o.problem(&format!("demographics.{k}"), "unknown field; expected `gender`, `race_ethnicity`, `veteran_status` or `disability_status`");
                ok = false;
                continue;
            }
        };
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => *slot = Some(s),
            _ => {
                o.problem(&format!("demographics.{k}"), "expected a string or null");
                ok = false;
            }
        }
    }
    ok.then_some(Some(d))
}

fn hiring_team(idx: &Index, o: &mut Obj<'_, '_>) -> Option<Vec<HiringTeamMember>> {
    let items = o.objects("hiring_team")?;
    let mut out: Vec<HiringTeamMember> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (path, fields) in items {
        let mut m = o.nested(path, fields);
        let member = (|| {
            let user_id = m.id("user_id");
            if let Some(u) = &user_id {
                resolves(&mut m, "user_id", &idx.users, u, FileKind::Users);
            }
            let role = m.enumeration("role", HiringTeamRole::parse);
            Some(HiringTeamMember {
                user_id: user_id?,
                role: role?,
            })
        })();
        if let Some(member) = &member
            && out.iter().any(|x| x == member)
        {
            m.problem(
                "user_id",
                format!(
                    "`{}` is already on the hiring team as {}",
                    member.user_id, member.role
                ),
            );
        }
        ok &= m.finish();
        out.extend(member);
    }
    ok.then_some(out)
}

fn stages(idx: &Index, o: &mut Obj<'_, '_>) -> Option<Vec<Stage>> {
    let _ = idx;
    let items = o.objects("stages")?;
    if items.is_empty() {
        o.problem("stages", "a job needs at least one stage");
        return None;
    }
    let mut out: Vec<Stage> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (path, fields) in items {
        let mut m = o.nested(path, fields);
        let stage = (|| {
            {
                // Every field is read, even after a bad one, so each gets its own message.
                let (id, name, kind, position) = (
                    m.id("id"),
                    m.non_empty_text("name"),
                    m.enumeration("kind", StageKind::parse),
                    m.uint("position", 0),
                );
                Some(Stage {
                    id: id?,
                    name: name?,
                    kind: kind?,
                    position: position?,
                })
            }
        })();
        if let (Some(s), Some(prev)) = (&stage, out.last()) {
            if s.position <= prev.position {
                m.problem("position", format!("`{}` is not after the previous stage's position `{}`: stages are listed in order of position", s.position, prev.position));
            }
            if out.iter().any(|x| x.id == s.id) {
                m.problem("id", format!("`{}` is listed twice", s.id));
            }
        }
        ok &= m.finish();
        out.extend(stage);
    }
    ok.then_some(out)
}

fn participants(idx: &Index, o: &mut Obj<'_, '_>) -> Option<Vec<InterviewParticipant>> {
    let items = o.objects("interviewers")?;
    let mut out: Vec<InterviewParticipant> = Vec::with_capacity(items.len());
    let mut ok = true;
    for (path, fields) in items {
        let mut m = o.nested(path, fields);
        let p = (|| {
            let user_id = m.id("user_id");
            if let Some(u) = &user_id {
                resolves(&mut m, "user_id", &idx.users, u, FileKind::Users);
            }
            let role = m.enumeration("role", InterviewerRole::parse);
            Some(InterviewParticipant {
                user_id: user_id?,
                role: role?,
            })
        })();
        if let Some(p) = &p
            && out.iter().any(|x| x.user_id == p.user_id)
        {
            m.problem(
                "user_id",
                format!("`{}` already sits on this interview", p.user_id),
            );
        }
        ok &= m.finish();
        out.extend(p);
    }
    ok.then_some(out)
}

fn salary(o: &mut Obj<'_, '_>) -> Option<Option<Salary>> {
    let Some(map) = o.object("salary")? else {
        return Some(None);
    };
    let mut amount = None;
    let mut currency = None;
    let mut period = None;
    let mut ok = true;
    for (k, v) in map {
        let field = format!("salary.{k}");
        match k.as_str() {
            "amount" => match v.as_f64() {
                Some(a) if a >= 0.0 => amount = Some(Amount(a)),
                _ => {
                    o.problem(&field, format!("expected a non-negative number, got `{v}`"));
                    ok = false;
                }
            },
            "currency" => match v.as_str() {
                Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => {
                    currency = Some(c.to_owned())
                }
                _ => {
                    o.problem(
                        &field,
                        format!("expected an ISO 4217 currency code such as `USD`, got `{v}`"),
                    );
                    ok = false;
                }
            },
            "period" => match v.as_str().map(SalaryPeriod::parse) {
                Some(Ok(p)) => period = Some(p),
                Some(Err(e)) => {
                    o.problem(&field, e.to_string());
                    ok = false;
                }
                None => {
                    o.problem(&field, "expected `year` or `hour`");
                    ok = false;
                }
            },
            _ => {
                o.problem(&field, "unknown field");
                ok = false;
            }
        }
    }
    for (name, missing) in [
        ("amount", amount.is_none()),
        ("currency", currency.is_none()),
        ("period", period.is_none()),
    ] {
        if missing && ok {
            o.problem(&format!("salary.{name}"), "missing");
        }
    }
    match (amount, currency, period) {
        (Some(amount), Some(currency), Some(period)) if ok => Some(Some(Salary {
            amount,
            currency,
            period,
        })),
        _ => None,
    }
}
