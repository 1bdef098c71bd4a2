//! The OpenAPI description of the API, generated from the handlers'
//! annotations (`GET /openapi.json`; checked in as docs/openapi.json, which a
//! test keeps equal to this).

use axum::http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::http::route::{Access, Route};
use crate::native;
use crate::native::answers::{
    DeletedAnswer, HitDoc, IndexListAnswer, ItemPageAnswer, ItemSummaryDoc, SearchAnswer, SearchBatchAnswer,
    UpsertedAnswer,
};
use crate::native::docs::{ComponentDoc, ErrorDoc, FilterDoc, ItemDoc, MetricDoc, StorageDoc};

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "vectord", description = "Named indexes of float32 vectors: add, search, read, delete."),
    paths(
        native::health::healthz,
        native::health::readyz,
        native::indexes::create,
        native::indexes::list,
        native::indexes::describe,
        native::indexes::drop,
        native::items::add,
        native::items::get,
        native::items::delete,
        native::items::list,
        native::fields::create,
        native::fields::drop,
        native::reshard::reshard,
        native::search::one,
        native::search::batch,
        native::hybrid::hybrid,
        native::snapshots::export,
        native::snapshots::import,
        native::service::metrics,
        native::cluster::status,
    ),
    components(schemas(
        ItemDoc,
        HitDoc,
        ErrorDoc,
        ComponentDoc,
        MetricDoc,
        FilterDoc,
        StorageDoc,
        SearchAnswer,
        SearchBatchAnswer,
        UpsertedAnswer,
        DeletedAnswer,
        IndexListAnswer,
        ItemSummaryDoc,
        ItemPageAnswer
    ))
)]
pub struct ApiDoc;

/// The answers that come from the layers around the handlers rather than
/// from a handler, added to every operation they can reach, as its route's
/// declaration says: the connection limit (429), the API key (401, and 403
/// for writes with the read-only key) and the body reader (400, 408, 413, 415).
struct CommonAnswers<'a> {
    routes: &'a [Route],
}

impl Modify for CommonAnswers<'_> {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let routes = self.routes;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::DELETE, &mut item.delete),
            ];
            for (method, operation) in operations {
                let declared = routes.iter().find(|r| r.method == method && r.documented_path() == *path);
                if let (Some(operation), Some(route)) = (operation, declared) {
                    add_common_answers(operation, route);
                }
            }
        }
    }
}

fn add_common_answers(operation: &mut Operation, route: &Route) {
    let mut answers = vec![("429", "Over the connection limit; retry after `Retry-After` seconds")];
    if route.access != Access::Open {
        answers.push(("401", "Missing or wrong API key"));
    }
    if route.access.writes() {
        answers.push(("403", "The read-only API key cannot write"));
    }
    // Admin routes other than drops make an index; the others need one.
    let creates = route.access == Access::Admin && route.method != Method::DELETE;
    if route.names_index() {
        answers.extend([("400", "Invalid request"), ("503", "Index loading or unavailable, or storage failing")]);
        if !creates {
            answers.push(("404", "No such index"));
        }
    }
    if route.access == Access::Write || creates {
        answers.push(("507", "Storage full"));
    }
    if operation.request_body.is_some() {
        answers.extend([
            ("400", "Invalid request"),
            ("408", "The body did not arrive within the body timeout"),
            ("413", "Body too large"),
            ("415", "Not JSON"),
        ]);
    }
    for (status, description) in answers {
        let response = ResponseBuilder::new()
            .description(description)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorDoc"))).build())
            .build();
        operation.responses.responses.entry(status.to_owned()).or_insert(response.into());
    }
}

/// The document as pretty JSON, as checked in, with the common answers
/// of `routes` (the route table).
pub fn json(routes: &[Route]) -> String {
    let mut openapi = ApiDoc::openapi();
    CommonAnswers { routes }.modify(&mut openapi);
    let document = serde_json::to_value(openapi).map(|mut document| {
        fix_link_field_names(&mut document);
        document
    });
    document
        .and_then(|document| serde_json::to_string_pretty(&document))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// utoipa 5 writes a Link object's fields in snake case (`operation_id`),
/// which OpenAPI tools do not recognise; the spec names them in camel case.
fn fix_link_field_names(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(serde_json::Value::as_object_mut) else { return };
    let operations = paths.values_mut().filter_map(serde_json::Value::as_object_mut).flat_map(|item| item.values_mut());
    let responses = operations.filter_map(|op| op.get_mut("responses")?.as_object_mut()).flat_map(|r| r.values_mut());
    let links = responses.filter_map(|r| r.get_mut("links")?.as_object_mut()).flat_map(|l| l.values_mut());
    for link in links.filter_map(serde_json::Value::as_object_mut) {
        for (snake, camel) in
            [("operation_id", "operationId"), ("operation_ref", "operationRef"), ("request_body", "requestBody")]
        {
            if let Some(value) = link.remove(snake) {
                link.insert(camel.to_owned(), value);
            }
        }
    }
}

/// `GET /openapi.json`: the document of the API these routes make.
pub(crate) fn serve(routes: &[Route]) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, "application/json")], json(routes)).into_response()
}
