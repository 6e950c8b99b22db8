//! Reads as reports. A list field (`applications(first, after, filter, where)`) looks ahead at
//! what the query selects (own fields, custom fields, and objects reached through to-one
//! relations, to any depth) and fetches it all with one report run as the caller:
//!
//! ```text
//! report applications where <the caller's `where`>
//! where job.id = "job_1" and id > "app_9"        -- filter and cursor
//! show id as c0, status as c1, candidate.id as c2, candidate.name as c3
//! order by id limit 51
//! ```
//!
//! The report compiler places the caller's row filters at every table reference and masks the
//! restricted fields, so a related object the caller may not see reads as null, and a masked
//! field as null. To-many relations (`job.applications`) run one report per parent. Cursors are
//! the last row's id (keyset pagination, stable under inserts).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use async_graphql::dynamic::{
    Enum, EnumItem, Field, FieldFuture, FieldValue, InputObject, InputValue, Object,
    ResolverContext, Type, TypeRef,
};
use async_graphql::{ErrorExtensions, Name, SelectionField, Value};
use query_compiler::catalog::{EntityId, Type as CType};

use super::model::{Shape, field_type, shapes as all_shapes};
use super::order::{self, Order};
use super::{Code, RequestCtx, error, internal};

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(all_shapes);

pub fn shapes() -> &'static [Shape] {
    &SHAPES
}

fn shape_of(id: EntityId) -> Option<&'static Shape> {
    SHAPES.iter().find(|s| s.entity.id == id)
}

/// Where each fetched column sits, per object: the columns of a list report are paths
/// (`status`, `candidate.name`, `job.custom.level`), split once per page into scopes (the
/// object at `""`, `candidate.`, `candidate.job.`, ...) so that reading a field of a node is
/// one lookup, without building its path (a page of 50 rows reads hundreds of fields).
struct Layout {
    /// Per scope, its fields (`name`, `custom.level`) and their column.
    fields: Vec<HashMap<String, usize>>,
    /// Per scope, its to-one relations and their scope.
    children: Vec<HashMap<String, usize>>,
}

impl Layout {
    fn new(paths: &[String]) -> Layout {
        let mut scopes: HashMap<String, usize> = HashMap::from([(String::new(), 0)]);
        let mut layout = Layout {
            fields: vec![HashMap::new()],
            children: vec![HashMap::new()],
        };
        for (column, path) in paths.iter().enumerate() {
            let (prefix, field) = split_path(path);
            let scope = layout.scope(&mut scopes, prefix);
            layout.fields[scope].insert(field.to_owned(), column);
        }
        layout
    }

    /// The scope of `prefix` (`candidate.job.`), made with its ancestors when new.
    fn scope(&mut self, scopes: &mut HashMap<String, usize>, prefix: &str) -> usize {
        if let Some(s) = scopes.get(prefix) {
            return *s;
        }
        let inner = prefix.strip_suffix('.').unwrap_or(prefix);
        let (parent, name) = match inner.rfind('.') {
            Some(i) => (&prefix[..=i], &inner[i + 1..]),
            None => ("", inner),
        };
        let parent = self.scope(scopes, parent);
        let scope = self.fields.len();
        self.fields.push(HashMap::new());
        self.children.push(HashMap::new());
        self.children[parent].insert(name.to_owned(), scope);
        scopes.insert(prefix.to_owned(), scope);
        scope
    }
}

/// A column path as (the prefix of its object, the field): `candidate.custom.x` is
/// (`candidate.`, `custom.x`); `custom` names no relation.
fn split_path(path: &str) -> (&str, &str) {
    let custom = if path.starts_with("custom.") {
        Some(0)
    } else {
        path.find(".custom.").map(|i| i + 1)
    };
    match custom {
        Some(i) => path.split_at(i),
        None => match path.rfind('.') {
            Some(i) => path.split_at(i + 1),
            None => ("", path),
        },
    }
}

/// One fetched row, shared by the objects read from it.
pub struct Row {
    layout: Arc<Layout>,
    values: Vec<query_compiler::Value>,
}

/// An object of the API: the part of a row in one scope (the row's subject, its candidate, ...).
#[derive(Clone)]
pub struct Node {
    row: Arc<Row>,
    scope: usize,
    /// The order of the list the node was read in, for its cursor (`None`: not a list's).
    order: Option<Arc<Order>>,
}

impl Node {
    fn get(&self, field: &str) -> async_graphql::Result<&query_compiler::Value> {
        self.row
            .layout
            .fields
            .get(self.scope)
            .and_then(|f| f.get(field))
            .and_then(|i| self.row.values.get(*i))
            .ok_or_else(|| internal("reading a field", format!("`{field}` was not fetched")))
    }

    /// The object of the to-one relation `name`, when it was fetched.
    fn child(&self, name: &str) -> async_graphql::Result<Node> {
        let scope = self
            .row
            .layout
            .children
            .get(self.scope)
            .and_then(|c| c.get(name))
            .ok_or_else(|| internal("reading a relation", format!("`{name}` was not fetched")))?;
        Ok(Node {
            row: self.row.clone(),
            scope: *scope,
            order: None,
        })
    }

    /// The value in column `i` of the node's row (the columns are the list report's paths).
    pub(super) fn column(&self, i: usize) -> Option<&query_compiler::Value> {
        self.row.values.get(i)
    }

    /// The node's id, when its entity has one.
    pub fn id(&self) -> Option<String> {
        match self.get("id") {
            Ok(query_compiler::Value::Text(s)) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A page of a connection.
pub(super) struct Page {
    pub nodes: Vec<Node>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: Option<i64>,
    keyed: bool,
}

impl Page {
    /// The last row's cursor (`pageInfo.endCursor`), for lists with ids.
    pub fn end_cursor(&self) -> Option<String> {
        self.nodes.last().filter(|_| self.keyed).map(cursor_of)
    }
}

/// The value of a field, as GraphQL shows it (`enum_type`: an enum field's values are names).
pub(super) fn to_value(v: &query_compiler::Value, is_enum: bool) -> Value {
    use query_compiler::Value as V;
    match v {
        V::Null => Value::Null,
        V::Text(s) if is_enum => Value::Enum(Name::new(s)),
        V::Text(s) | V::Date(s) => Value::String(s.clone()),
        V::Integer(i) => Value::from(*i),
        V::Bool(b) => Value::Boolean(*b),
        other => super::json_value(other.to_json()),
    }
}

fn page_arg_types(shape: &Shape) -> Vec<InputValue> {
    let order = order::argument(shape);
    let mut args = vec![
        InputValue::new("first", TypeRef::named(TypeRef::INT))
            .description("How many rows (default 50, at most the server's page cap)"),
        InputValue::new("after", TypeRef::named(TypeRef::STRING))
            .description("A cursor from `pageInfo.endCursor`: the page after it"),
        InputValue::new("filter", TypeRef::named(format!("{}Filter", shape.type_name)))
            .description("Equality on fields, and `<relation>Id` on related objects"),
        InputValue::new("where", TypeRef::named(TypeRef::STRING)).description(
            "A condition in the report language, e.g. `status = \"active\" and applied_at in last 30 days`",
        ),
    ];
    args.extend(order);
    args
}

/// The object, enum, filter, edge and connection types of one entity, and its root fields.
pub fn types_for(shape: &'static Shape) -> (Vec<Type>, Vec<Field>) {
    let mut types: Vec<Type> = Vec::new();
    let mut object = Object::new(&shape.type_name).description(shape.entity.doc);
    let mut filter = InputObject::new(format!("{}Filter", shape.type_name)).description(format!(
        "Which {} to list: every field given must match",
        shape.entity.name
    ));
    for (gql, field) in &shape.fields {
        let (ty, enum_ty) = field_type(&shape.type_name, field);
        let is_enum = enum_ty.is_some();
        if let Some((name, values)) = enum_ty {
            let mut e = Enum::new(name).description(format!(
                "The values of `{}.{gql}`: {}",
                shape.type_name, field.doc
            ));
            for v in values {
                let doc = super::model::enum_value_doc(field.name, &v);
                e = e.item(EnumItem::new(v).description(doc));
            }
            types.push(e.into());
        }
        let path = field.name;
        object = object.field(
            Field::new(gql, ty.clone(), move |ctx| {
                // A value already fetched: no future to box and poll.
                let value = ctx
                    .parent_value
                    .try_downcast_ref::<Node>()
                    .and_then(|node| node.get(path));
                match value {
                    // Absent, or masked for the caller: null. (A null is no value of an enum
                    // type, so it must not reach async-graphql as one.)
                    Ok(query_compiler::Value::Null) => FieldFuture::Value(None),
                    Ok(v) => FieldFuture::Value(Some(FieldValue::value(to_value(v, is_enum)))),
                    Err(e) => FieldFuture::new(async move { Err::<Option<FieldValue>, _>(e) }),
                }
            })
            .description(field.doc),
        );
        if matches!(
            field.ty,
            CType::Text | CType::Integer | CType::Bool | CType::Enum(_) | CType::Select(_)
        ) {
            filter = filter.field(InputValue::new(gql, ty).description(format!(
                "Only rows whose `{gql}` equals this: {}",
                field.doc
            )));
        }
    }
    if shape.entity.custom.is_some() {
        object = object.field(
            Field::new("custom", TypeRef::named("JSON"), |ctx| {
                FieldFuture::new(async move {
                    let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                    let key = ctx.args.try_get("key")?.string()?;
                    match node.get(&format!("custom.{key}"))? {
                        query_compiler::Value::Null => Ok(None),
                        v => Ok(Some(FieldValue::value(to_value(v, false)))),
                    }
                })
            })
            .argument(
                InputValue::new("key", TypeRef::named_nn(TypeRef::STRING)).description(
                    "The custom field's key (letters, digits and `_`), as `createCustomField` defined it",
                ),
            )
            .description(
                "The value of the org's custom field `key` (null when unset, unknown, or sensitive and the caller may not read it)",
            ),
        );
    }
    for (gql, rel) in &shape.to_one {
        let Some(target) = shape_of(rel.target) else {
            continue;
        };
        let name = rel.name;
        object = object.field(
            Field::new(gql, TypeRef::named(&target.type_name), move |ctx| {
                let child = ctx
                    .parent_value
                    .try_downcast_ref::<Node>()
                    .and_then(|node| node.child(name))
                    .and_then(|child| {
                        Ok((
                            matches!(child.get("id")?, query_compiler::Value::Null),
                            child,
                        ))
                    });
                match child {
                    // Absent, or hidden from the caller: null either way.
                    Ok((true, _)) => FieldFuture::Value(None),
                    Ok((false, child)) => FieldFuture::Value(Some(FieldValue::owned_any(child))),
                    Err(e) => FieldFuture::new(async move { Err::<Option<FieldValue>, _>(e) }),
                }
            })
            .description(rel.doc),
        );
        filter = filter.field(
            InputValue::new(format!("{gql}Id"), TypeRef::named(TypeRef::ID))
                .description(format!("Only rows whose `{gql}` has this id: {}", rel.doc)),
        );
    }
    for (gql, rel, back) in &shape.to_many {
        let Some(target) = shape_of(rel.target) else {
            continue;
        };
        let back: &'static str = back;
        let mut field = Field::new(
            gql,
            TypeRef::named_nn(format!("{}Connection", target.type_name)),
            move |ctx| {
                let span = super::spans::resolver(&ctx);
                super::spans::traced(span, async move {
                    let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                    let id = node
                        .id()
                        .ok_or_else(|| internal("reading a relation", "parent without id"))?;
                    let cond = format!("{}.id = {}", path_text(back), literal(&id));
                    let page = list(&ctx, target, vec![cond]).await?;
                    Ok(Some(FieldValue::owned_any(page)))
                })
            },
        )
        .description(rel.doc);
        for arg in page_arg_types(target) {
            field = field.argument(arg);
        }
        object = object.field(field);
    }
    types.push(object.into());
    types.push(filter.into());
    types.extend(connection_types(shape));
    if let Some((fields, input)) = order::types(shape) {
        types.push(fields.into());
        types.push(input.into());
    }

    let mut roots = Vec::new();
    if shape.entity.subject && shape.has_id() {
        let mut list_field = Field::new(
            &shape.list_field,
            TypeRef::named_nn(format!("{}Connection", shape.type_name)),
            move |ctx| {
                let span = super::spans::resolver(&ctx);
                super::spans::traced(span, async move {
                    let page = list(&ctx, shape, Vec::new()).await?;
                    Ok(Some(FieldValue::owned_any(page)))
                })
            },
        )
        .description(format!(
            "{} the caller may see, newest first unless `orderBy` says otherwise",
            capitalise(shape.entity.name)
        ));
        for arg in page_arg_types(shape) {
            list_field = list_field.argument(arg);
        }
        roots.push(list_field);
        roots.push(
            Field::new(
                &shape.single_field,
                TypeRef::named(&shape.type_name),
                move |ctx| {
                    let span = super::spans::resolver(&ctx);
                    super::spans::traced(span, async move {
                        let id = ctx.args.try_get("id")?.string()?.to_owned();
                        let cond = format!("id = {}", literal(&id));
                        let node = lookup(&ctx, shape, cond).await?;
                        Ok(node.map(FieldValue::owned_any))
                    })
                },
            )
            .argument(
                InputValue::new("id", TypeRef::named_nn(TypeRef::ID))
                    .description(format!("The {}'s id", shape.entity.singular)),
            )
            .description(format!(
                "One {} by id; null when it does not exist or the caller may not see it",
                shape.entity.singular
            )),
        );
    }
    (types, roots)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn connection_types(shape: &Shape) -> Vec<Type> {
    let t = &shape.type_name;
    let edge = Object::new(format!("{t}Edge"))
        .description(format!(
            "One {} of a page, with its cursor",
            shape.entity.singular
        ))
        .field(
            Field::new("cursor", TypeRef::named_nn(TypeRef::STRING), |ctx| {
                FieldFuture::new(async move {
                    let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                    Ok(Some(FieldValue::value(cursor_of(node))))
                })
            })
            .description(
                "Where this row is in the list's order: pass it as `after` for the rows after it",
            ),
        )
        .field(
            Field::new("node", TypeRef::named_nn(t), |ctx| {
                FieldFuture::new(async move {
                    let node = ctx.parent_value.try_downcast_ref::<Node>()?;
                    Ok(Some(FieldValue::owned_any(node.clone())))
                })
            })
            .description(format!("The {} itself", shape.entity.singular)),
        );
    let connection = Object::new(format!("{t}Connection"))
        .description(format!(
            "A page of {}, in the list's order, with what is needed to fetch the next page",
            shape.entity.name
        ))
        .field(
            Field::new(
                "edges",
                TypeRef::named_nn_list_nn(format!("{t}Edge")),
                |ctx| {
                    FieldFuture::new(async move {
                        let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                        Ok(Some(FieldValue::list(
                            page.nodes.iter().cloned().map(FieldValue::owned_any),
                        )))
                    })
                },
            )
            .description("The page's rows with their cursors"),
        )
        .field(
            Field::new("nodes", TypeRef::named_nn_list_nn(t), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::list(
                        page.nodes.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            })
            .description("The page's rows, without cursors (`edges` has them)"),
        )
        .field(
            Field::new("pageInfo", TypeRef::named_nn("PageInfo"), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    let end = page.end_cursor();
                    let info = serde_json::json!({
                        "hasNextPage": page.has_next,
                        "hasPreviousPage": page.has_previous,
                        "endCursor": end,
                    });
                    Ok(Some(FieldValue::owned_any(info)))
                })
            })
            .description("Whether there are more pages, and the cursor to ask for the next one"),
        )
        .field(
            Field::new("totalCount", TypeRef::named_nn(TypeRef::INT), |ctx| {
                FieldFuture::new(async move {
                    let page = ctx.parent_value.try_downcast_ref::<Page>()?;
                    Ok(Some(FieldValue::value(page.total.unwrap_or(0))))
                })
            })
            .description("How many rows match, over all pages (one more report)"),
        );
    vec![edge.into(), connection.into()]
}

/// Types every connection shares.
pub fn common_types() -> Vec<Type> {
    let info_field = |name: &'static str, ty: TypeRef, doc: &'static str| {
        Field::new(name, ty, move |ctx| {
            FieldFuture::new(async move {
                let info = ctx.parent_value.try_downcast_ref::<serde_json::Value>()?;
                Ok(Some(FieldValue::value(super::json_value(
                    info.get(name).cloned().unwrap_or(serde_json::Value::Null),
                ))))
            })
        })
        .description(doc)
    };
    let page_info = Object::new("PageInfo")
        .description("Where a page sits in its list")
        .field(info_field(
            "hasNextPage",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether rows follow this page: ask again with `after: endCursor`",
        ))
        .field(info_field(
            "hasPreviousPage",
            TypeRef::named_nn(TypeRef::BOOLEAN),
            "Whether rows come before this page (true when the page was asked for with `after`)",
        ))
        .field(info_field(
            "endCursor",
            TypeRef::named(TypeRef::STRING),
            "The last row's cursor (null on an empty page): the `after` of the next page",
        ));
    let viewer = Object::new("Viewer")
        .description("The caller, as the access policy sees them")
        .field(info_field(
            "org",
            TypeRef::named_nn(TypeRef::STRING),
            "The id of the org the token belongs to; every read and write stays inside it",
        ))
        .field(info_field(
            "user",
            TypeRef::named_nn(TypeRef::STRING),
            "The caller's user id (the `id` of a `User`)",
        ))
        .field(info_field(
            "name",
            TypeRef::named_nn(TypeRef::STRING),
            "The caller's full name",
        ))
        .field(info_field(
            "role",
            TypeRef::named_nn(TypeRef::STRING),
            "The caller's org role: admin, recruiter, hiring_manager or interviewer",
        ))
        .field(info_field(
            "policies",
            TypeRef::named_nn(TypeRef::STRING),
            "The Cedar policy text that decides what the caller may see and do (docs/policy.md)",
        ))
        .field(super::flags::viewer_flags_field());
    vec![
        page_info.into(),
        viewer.into(),
        order::direction_type().into(),
    ]
}

/// `viewer`: who the token belongs to.
pub fn viewer_field() -> Field {
    Field::new("viewer", TypeRef::named_nn("Viewer"), |ctx| {
        let span = super::spans::resolver(&ctx);
        super::spans::traced(span, async move {
            let rc = ctx.data::<RequestCtx>()?;
            let a = &rc.caller.access;
            Ok(Some(FieldValue::owned_any(serde_json::json!({
                "org": a.viewer.org,
                "user": a.viewer.user,
                "name": a.user.name,
                "role": a.viewer.role,
                "policies": a.policies.source().to_string(),
            }))))
        })
    })
    .description("Who the token belongs to: org, user, role and the access policy in force")
}

/// A catalog path (`by.id`, `candidate.name`) as report text: a first segment spelled like a
/// keyword of the language is written in backticks (`` `by`.id ``), since only there a keyword
/// could stand; anything else (`count()`) is left as it is.
pub fn path_text(path: &str) -> String {
    match path.split_once('.') {
        Some((first, rest)) if query_syntax::is_keyword(first) => format!("`{first}`.{rest}"),
        None if query_syntax::is_keyword(path) => format!("`{path}`"),
        _ => path.to_owned(),
    }
}

/// A string literal of the report language.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A node's cursor in the order of its list (`order::Order::cursor`).
pub(super) fn cursor_of(node: &Node) -> String {
    let id = node.id().unwrap_or_default();
    match &node.order {
        Some(order) => order.cursor(node.get(order.field).ok(), &id),
        None => Order::by_id().cursor(None, &id),
    }
}

/// The report paths a selection of `shape` needs, under `prefix`.
fn collect(
    shape: &Shape,
    selection: &SelectionField<'_>,
    prefix: &str,
    paths: &mut Vec<String>,
) -> async_graphql::Result<()> {
    fn push(paths: &mut Vec<String>, p: String) {
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    if shape.has_id() {
        push(paths, format!("{prefix}id"));
    } else {
        for p in shape.order_paths() {
            push(paths, format!("{prefix}{p}"));
        }
    }
    for child in selection.selection_set() {
        let name = child.name();
        if let Some((_, f)) = shape.fields.iter().find(|(g, _)| g == name) {
            push(paths, format!("{prefix}{}", f.name));
        } else if name == "custom" {
            let key = child
                .arguments()?
                .into_iter()
                .find(|(n, _)| n.as_str() == "key")
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .ok_or_else(|| error(Code::BadUserInput, Some("key"), "`custom` needs a `key`"))?;
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(error(
                    Code::BadUserInput,
                    Some("key"),
                    format!("`{key}` is not a custom field key (letters, digits and `_`)"),
                ));
            }
            push(paths, format!("{prefix}custom.{key}"));
        } else if let Some((_, rel)) = shape.to_one.iter().find(|(g, _)| g == name)
            && let Some(target) = shape_of(rel.target)
        {
            collect(target, &child, &format!("{prefix}{}.", rel.name), paths)?;
        }
    }
    Ok(())
}

/// The node selection of a connection field: `edges { node { ... } }` and `nodes { ... }`.
fn node_selections<'a>(connection: &SelectionField<'a>) -> Vec<SelectionField<'a>> {
    let mut out = Vec::new();
    for child in connection.selection_set() {
        match child.name() {
            "nodes" => out.push(child),
            "edges" => out.extend(child.selection_set().filter(|c| c.name() == "node")),
            _ => {}
        }
    }
    out
}

/// Runs a list of `shape` for the connection field being resolved.
async fn list(
    ctx: &ResolverContext<'_>,
    shape: &'static Shape,
    conds: Vec<String>,
) -> async_graphql::Result<Page> {
    let rc = ctx.data::<RequestCtx>()?;
    let arg = |name: &str| ctx.args.get(name).map(|v| v.as_value());
    let args = ListArgs {
        first: arg("first"),
        after: arg("after"),
        order_by: arg("orderBy"),
        filter: arg("filter"),
        where_: arg("where"),
    };
    let field = ctx.field();
    let mut paths = Vec::new();
    let nodes = node_selections(&field);
    if nodes.is_empty() {
        collect(shape, &field, "", &mut paths)?;
    }
    for sel in &nodes {
        collect(shape, sel, "", &mut paths)?;
    }
    let wants_total = field.selection_set().any(|c| c.name() == "totalCount");
    list_page(rc, shape, conds, &args, paths, wants_total).await
}

/// The arguments of a list field (`first`, `after`, `orderBy`, `filter`, `where`), as given.
pub(super) struct ListArgs<'a> {
    pub first: Option<&'a Value>,
    pub after: Option<&'a Value>,
    pub order_by: Option<&'a Value>,
    pub filter: Option<&'a Value>,
    pub where_: Option<&'a Value>,
}

/// The name of an enum value: a literal's, or a variable's (a string).
pub(super) fn enum_name(v: &Value) -> Option<&str> {
    match v {
        Value::Enum(n) => Some(n.as_str()),
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// An argument given, and not null.
fn given(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !matches!(v, Value::Null))
}

fn text_arg<'a>(v: &'a Value, name: &str) -> async_graphql::Result<&'a str> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(error(
            Code::BadUserInput,
            Some(name),
            format!("`{name}` must be a string"),
        )),
    }
}

/// One page of a list of `shape`: the rows after `args.after` that match `conds` and the
/// arguments, with the report paths `paths` (what the selection reads, from [`collect`]), and
/// the count over all pages when `wants_total`. The one path of every list read, whether
/// async-graphql resolves the field or [`super::direct`] answers a known document.
pub(super) async fn list_page(
    rc: &RequestCtx,
    shape: &'static Shape,
    mut conds: Vec<String>,
    args: &ListArgs<'_>,
    mut paths: Vec<String>,
    wants_total: bool,
) -> async_graphql::Result<Page> {
    let first = match given(args.first) {
        Some(v) => {
            let n = match v {
                Value::Number(n) => n.as_i64(),
                _ => None,
            }
            .ok_or_else(|| {
                error(
                    Code::BadUserInput,
                    Some("first"),
                    "`first` must be an integer",
                )
            })?;
            if n < 0 || n > rc.limits.max_page_size as i64 {
                return Err(error(
                    Code::BadUserInput,
                    Some("first"),
                    format!(
                        "`first` must be between 0 and {}, got {n}",
                        rc.limits.max_page_size
                    ),
                ));
            }
            n as usize
        }
        _ => rc.limits.default_page_size,
    };
    let order = if shape.has_id() {
        Some(Arc::new(order::parse(shape, args.order_by)?))
    } else {
        None
    };
    let mut has_previous = false;
    // The page's start (the literals of the condition after the cursor): kept apart from the
    // other conditions, which `totalCount` reuses.
    let mut start = None;
    if let Some(after) = given(args.after) {
        let after = text_arg(after, "after")?;
        let Some(order) = &order else {
            return Err(error(
                Code::BadUserInput,
                Some("after"),
                format!("{} are not paginated by cursor", shape.entity.name),
            ));
        };
        let holes = order
            .holes(after)
            .map_err(|why| error(Code::BadUserInput, Some("after"), why))?;
        start = Some(holes);
        has_previous = true;
    }
    if let Some(filter) = given(args.filter) {
        let Value::Object(filter) = filter else {
            return Err(error(
                Code::BadUserInput,
                Some("filter"),
                "`filter` must be an object",
            ));
        };
        for (name, value) in filter {
            if matches!(value, Value::Null) {
                continue;
            }
            conds.push(filter_cond(shape, name.as_str(), value)?);
        }
    }
    let user_where = match given(args.where_) {
        Some(w) => Some(text_arg(w, "where")?.to_owned()),
        None => None,
    };
    let clause = match &order {
        Some(order) => {
            // The cursor needs the order field's value: fetched even when not selected.
            if !paths.iter().any(|p| p == order.field) {
                paths.push(order.field.to_owned());
            }
            if !paths.iter().any(|p| p == "id") {
                paths.push("id".to_owned());
            }
            order.clause()
        }
        None => shape.order_paths(),
    };
    let page = PageText {
        subject: shape.entity.name,
        conds: conds.clone(),
        after: match (&start, &order) {
            (Some(_), Some(order)) => Some(order.clone()),
            _ => None,
        },
        show: paths.clone(),
        order: clause,
        limit: first + 1,
    };
    let holes = start.unwrap_or_default();
    let rows = match &user_where {
        // Every page of a list compiled once (the cursor's literals are the holes).
        None => super::reports::run_page(rc, page, holes).await?.rows.rows,
        Some(w) => {
            let mut page_conds = conds.clone();
            if let Some(order) = &page.after {
                page_conds.push(order.after_text(&holes));
            }
            let text = ListReport {
                subject: shape.entity.name,
                user_where: Some(w),
                conds: &page_conds,
                show: &paths,
                order: &page.order,
                limit: Some(first + 1),
            }
            .text();
            run_rows(rc, &text, Some(w)).await?
        }
    };
    let mut nodes = to_nodes(&paths, rows, order);
    let has_next = nodes.len() > first;
    nodes.truncate(first);
    let total = if wants_total {
        // Without the cursor: the count is of every page.
        let text = ListReport {
            subject: shape.entity.name,
            user_where: user_where.as_deref(),
            conds: &conds,
            show: &["count()".to_owned()],
            order: &[],
            limit: None,
        }
        .text();
        let rows = run_rows(rc, &text, user_where.as_deref()).await?;
        match rows.first().and_then(|r| r.first()) {
            Some(query_compiler::Value::Integer(n)) => Some(*n),
            _ => Some(0),
        }
    } else {
        None
    };
    Ok(Page {
        nodes,
        has_next,
        has_previous,
        total,
        keyed: shape.has_id(),
    })
}

/// The objects of a list report's rows, whose columns are `paths` in order.
fn to_nodes(
    paths: &[String],
    rows: Vec<Vec<query_compiler::Value>>,
    order: Option<Arc<Order>>,
) -> Vec<Node> {
    let layout = Arc::new(Layout::new(paths));
    rows.into_iter()
        .map(|values| Node {
            row: Arc::new(Row {
                layout: layout.clone(),
                values,
            }),
            scope: 0,
            order: order.clone(),
        })
        .collect()
}

/// One object of `shape` matching `cond`, fetched with what the current field selects.
async fn lookup(
    ctx: &ResolverContext<'_>,
    shape: &'static Shape,
    cond: String,
) -> async_graphql::Result<Option<Node>> {
    let rc = ctx.data::<RequestCtx>()?;
    let mut paths = Vec::new();
    collect(shape, &ctx.field(), "", &mut paths)?;
    let text = ListReport {
        subject: shape.entity.name,
        user_where: None,
        conds: &[cond],
        show: &paths,
        order: &[],
        limit: Some(2),
    }
    .text();
    let rows = run_rows(rc, &text, None).await?;
    Ok(to_nodes(&paths, rows, None).into_iter().next())
}

/// The report condition of one `filter` entry.
fn filter_cond(shape: &Shape, name: &str, value: &Value) -> async_graphql::Result<String> {
    let wrong = || {
        error(
            Code::BadUserInput,
            Some(name),
            format!("`{name}` has a value of the wrong type"),
        )
    };
    if let Some((_, f)) = shape.fields.iter().find(|(g, _)| g == name) {
        let lit = match (&f.ty, value) {
            (CType::Integer, Value::Number(n)) => n.as_i64().ok_or_else(wrong)?.to_string(),
            (CType::Bool, Value::Boolean(b)) => b.to_string(),
            (CType::Enum(_), v) => literal(enum_name(v).ok_or_else(wrong)?),
            (_, Value::String(s)) => literal(s),
            _ => return Err(wrong()),
        };
        return Ok(format!("{} = {lit}", path_text(f.name)));
    }
    if let Some(rel) = name.strip_suffix("Id")
        && let Some((_, r)) = shape.to_one.iter().find(|(g, _)| g == rel)
    {
        let Value::String(id) = value else {
            return Err(wrong());
        };
        return Ok(format!("{}.id = {}", path_text(r.name), literal(id)));
    }
    Err(error(
        Code::BadUserInput,
        Some(name),
        format!("`{name}` is not a filter of {}", shape.entity.name),
    ))
}

/// A page's list report without a `where` of the caller's: its text is written for the
/// literals of the condition after the cursor (`after`), the holes of its template.
#[derive(Clone)]
pub struct PageText {
    pub subject: &'static str,
    pub conds: Vec<String>,
    /// The order of the list when the page starts after a cursor.
    pub after: Option<Arc<Order>>,
    pub show: Vec<String>,
    pub order: Vec<String>,
    pub limit: usize,
}

impl PageText {
    /// The report's text with `holes` as the cursor's literals ([`Order::holes`]).
    pub fn render(&self, holes: &[query_compiler::Fill]) -> String {
        let mut conds = self.conds.clone();
        if let Some(order) = &self.after {
            conds.push(order.after_text(holes));
        }
        ListReport {
            subject: self.subject,
            user_where: None,
            conds: &conds,
            show: &self.show,
            order: &self.order,
            limit: Some(self.limit),
        }
        .text()
    }
}

/// The text of a list report. The caller's `where` comes first, on its own line, so that error
/// locations in it read as the caller wrote it (line 1).
pub struct ListReport<'a> {
    pub subject: &'a str,
    pub user_where: Option<&'a str>,
    pub conds: &'a [String],
    pub show: &'a [String],
    pub order: &'a [String],
    pub limit: Option<usize>,
}

impl ListReport<'_> {
    pub fn text(&self) -> String {
        let mut t = format!("report {}", self.subject);
        if let Some(w) = self.user_where {
            t.push_str(" where ");
            t.push_str(w);
        }
        t.push('\n');
        for c in self.conds {
            t.push_str("where ");
            t.push_str(c);
            t.push('\n');
        }
        t.push_str("show ");
        let items: Vec<String> = self
            .show
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{} as c{i}", path_text(p)))
            .collect();
        t.push_str(&items.join(", "));
        if !self.order.is_empty() {
            t.push_str("\norder by ");
            let order: Vec<String> = self.order.iter().map(|p| path_text(p)).collect();
            t.push_str(&order.join(", "));
        }
        if let Some(n) = self.limit {
            t.push_str(&format!("\nlimit {n}"));
        }
        t
    }
}

/// Checks the caller's `where` on its own: a condition only, no other clause.
fn check_where(subject: &str, text: &str) -> async_graphql::Result<()> {
    let own = format!("report {subject} where {text}\n");
    let report = query_syntax::parse(&own).map_err(|d| where_error(&d, &own))?;
    if !report.show.is_empty()
        || !report.group_by.is_empty()
        || !report.having.is_empty()
        || !report.order_by.is_empty()
        || report.limit.is_some()
        || report.funnel.is_some()
    {
        return Err(error(
            Code::BadUserInput,
            Some("where"),
            "`where` takes a condition only (no `show`, `group by`, `order by`, `limit`, ...)",
        ));
    }
    Ok(())
}

fn where_error(d: &query_syntax::Diagnostic, source: &str) -> async_graphql::Error {
    let rendered = d.render(source, "where");
    let (line, col) = d.location(source);
    let message = d.message.clone();
    async_graphql::Error::new(format!("`where`: {message}")).extend_with(move |_, e| {
        e.set("code", Code::BadUserInput.as_str());
        e.set("field", "where");
        e.set("line", line as u64);
        e.set("column", col as u64);
        e.set("detail", rendered.as_str());
    })
}

/// Runs a list report as the caller and returns its rows.
async fn run_rows(
    rc: &RequestCtx,
    text: &str,
    user_where: Option<&str>,
) -> async_graphql::Result<Vec<Vec<query_compiler::Value>>> {
    if let Some(w) = user_where {
        let subject = text
            .split_whitespace()
            .nth(1)
            .unwrap_or("applications")
            .to_owned();
        check_where(&subject, w)?;
    }
    let report = query_syntax::parse(text).map_err(|d| where_error(&d, text))?;
    let run = super::reports::run(rc, report, text).await?;
    Ok(run.rows.rows)
}

/// The object of `entity` with id `id` as the caller sees it, fetched with what the current
/// field selects (mutations answer with the object they changed).
pub async fn lookup_by_id(
    ctx: &ResolverContext<'_>,
    entity: EntityId,
    id: &str,
) -> async_graphql::Result<Option<Node>> {
    let shape = shape_of(entity)
        .ok_or_else(|| internal("answering a mutation", format!("no shape for {entity:?}")))?;
    lookup(ctx, shape, format!("id = {}", literal(id))).await
}

/// The custom fields `keys` of the record of `entity` with id `id`, as the caller reads them
/// (`candidate(id) { custom(key) }`): one report run as the caller, so a record the caller may
/// not see has none, and a field the caller may not read (a sensitive one, masked) is left out,
/// as are fields without a value. Keys that the read path cannot name (not letters, digits and
/// `_`) are left out too: the caller could not read them either.
pub async fn custom_values_as_caller(
    rc: &RequestCtx,
    entity: EntityId,
    id: &str,
    keys: &[String],
) -> async_graphql::Result<serde_json::Map<String, serde_json::Value>> {
    let shape = shape_of(entity)
        .ok_or_else(|| internal("answering a mutation", format!("no shape for {entity:?}")))?;
    let keys: Vec<&String> = keys
        .iter()
        .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect();
    let mut out = serde_json::Map::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let show: Vec<String> = keys.iter().map(|k| format!("custom.{k}")).collect();
    let text = ListReport {
        subject: shape.entity.name,
        user_where: None,
        conds: &[format!("id = {}", literal(id))],
        show: &show,
        order: &[],
        limit: Some(2),
    }
    .text();
    let rows = run_rows(rc, &text, None).await?;
    if let Some(row) = rows.first() {
        for (key, value) in keys.into_iter().zip(row) {
            if !matches!(value, query_compiler::Value::Null) {
                out.insert(key.clone(), value.to_json());
            }
        }
    }
    Ok(out)
}

/// The objects of `entity` with ids `ids` the caller sees, in the order of `ids`, fetched with
/// what the current field selects.
pub async fn lookup_ids(
    ctx: &ResolverContext<'_>,
    entity: EntityId,
    ids: &[String],
) -> async_graphql::Result<Vec<Node>> {
    let shape = shape_of(entity)
        .ok_or_else(|| internal("answering a mutation", format!("no shape for {entity:?}")))?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rc = ctx.data::<RequestCtx>()?;
    let mut paths = Vec::new();
    collect(shape, &ctx.field(), "", &mut paths)?;
    let list: Vec<String> = ids.iter().map(|i| literal(i)).collect();
    let cond = format!("id in ({})", list.join(", "));
    let text = ListReport {
        subject: shape.entity.name,
        user_where: None,
        conds: &[cond],
        show: &paths,
        order: &[],
        limit: None,
    }
    .text();
    let rows = run_rows(rc, &text, None).await?;
    let mut nodes = to_nodes(&paths, rows, None);
    nodes.sort_by_key(|n| {
        let id = n.id().unwrap_or_default();
        ids.iter().position(|i| *i == id).unwrap_or(usize::MAX)
    });
    Ok(nodes)
}
