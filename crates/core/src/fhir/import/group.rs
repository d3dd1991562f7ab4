//! Finding what refers to what: every resource is known by `Type/id`, by its entry's
//! `fullUrl` and, when its id is a UUID, by `urn:uuid:<id>`; a reference is looked up under
//! any of them (an absolute URL also by its last `Type/id`). The records are then grouped by
//! the patient they belong to, in file order.

use super::read::Read;
use super::report::Problem;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The resource types imported as part of a patient's record, and the element naming the
/// patient in each.
pub const RECORD_TYPES: [(&str, &str); 5] = [
    ("Encounter", "subject"),
    ("Observation", "subject"),
    ("Condition", "subject"),
    ("AllergyIntolerance", "patient"),
    ("MedicationRequest", "subject"),
];

/// Every resource read, and how to find one by reference.
pub struct Index {
    pub reads: Vec<Read>,
    keys: HashMap<String, usize>,
}

/// One patient's resources: the Patient's index and its record's, in file order.
pub struct Group {
    pub patient: usize,
    pub members: Vec<usize>,
}

pub fn ty(r: &Value) -> &str {
    r.get("resourceType").and_then(Value::as_str).unwrap_or_default()
}

pub fn id(r: &Value) -> &str {
    r.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// `Type/id` of a resource, for problems.
pub fn name(r: &Value) -> String {
    format!("{}/{}", ty(r), id(r))
}

impl Index {
    pub fn new(reads: Vec<Read>) -> Index {
        let mut keys = HashMap::new();
        for (i, read) in reads.iter().enumerate() {
            let r = &read.resource;
            if !id(r).is_empty() {
                keys.entry(name(r)).or_insert(i);
                if uuid::Uuid::parse_str(id(r)).is_ok() {
                    keys.entry(format!("urn:uuid:{}", id(r))).or_insert(i);
                }
            }
            if let Some(url) = &read.full_url {
                keys.entry(url.clone()).or_insert(i);
            }
        }
        Index { reads, keys }
    }

    pub fn get(&self, i: usize) -> &Value {
        &self.reads[i].resource
    }

    /// The resource a reference string names, if it is in the files.
    pub fn resolve(&self, reference: &str) -> Option<usize> {
        if let Some(i) = self.keys.get(reference) {
            return Some(*i);
        }
        // An absolute URL (`http://server/fhir/Patient/1`, maybe with `/_history/2`).
        let path = reference.split("/_history/").next().unwrap_or(reference);
        let mut parts = path.rsplit('/');
        let (id, ty) = (parts.next()?, parts.next()?);
        self.keys.get(&format!("{ty}/{id}")).copied()
    }

    /// The resource the `element` reference of resource `i` names: `Ok(None)` when the
    /// element is absent, a problem when it names nothing in the files.
    pub fn follow(&self, i: usize, element: &str) -> Result<Option<usize>, Problem> {
        let r = self.get(i);
        let Some(reference) = r.get(element).and_then(|e| e.get("reference")).and_then(Value::as_str) else {
            return Ok(None);
        };
        match self.resolve(reference) {
            Some(j) => Ok(Some(j)),
            None => Err(Problem::resource(
                &name(r),
                &format!("{}.{element}", ty(r)),
                format!("the reference {reference} points to nothing in the file(s)"),
            )),
        }
    }
}

/// Groups the record resources by patient. A record resource without a patient, or whose
/// patient reference points nowhere (or to something that is not a Patient), is a problem.
/// Resources of other types go to `others` (counted by the caller).
pub fn by_patient(index: &Index, problems: &mut Vec<Problem>, others: &mut Vec<usize>) -> Vec<Group> {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, read) in index.reads.iter().enumerate() {
        let t = ty(&read.resource);
        if t == "Patient" {
            groups.entry(i).or_default();
            continue;
        }
        let Some((_, element)) = RECORD_TYPES.iter().find(|(rt, _)| *rt == t) else {
            others.push(i);
            continue;
        };
        match index.follow(i, element) {
            Ok(Some(p)) if ty(index.get(p)) == "Patient" => groups.entry(p).or_default().push(i),
            Ok(Some(_)) => problems.push(Problem::resource(
                &name(&read.resource),
                &format!("{t}.{element}"),
                "refers to something that is not a Patient",
            )),
            Ok(None) => problems.push(Problem::resource(
                &name(&read.resource),
                &format!("{t}.{element}"),
                "no patient: HMS keeps records only as part of a patient's",
            )),
            Err(p) => problems.push(p),
        }
    }
    groups.into_iter().map(|(patient, members)| Group { patient, members }).collect()
}
