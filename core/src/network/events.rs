//! `EventsService`: a project's event streams (console API).

use super::{array, check_id, console, stream};
use crate::audit::{names, AuditEvent};
use crate::dto::{EventStream, EventStreamInput};
use crate::error::{Error, Result};
use crate::http::Call;
use crate::tenancy::service_handle;
use serde_json::{json, Value};

service_handle!(
    /// Event streams of Ory Network projects (console API, workspace API key).
    EventsService
);

fn body(input: &EventStreamInput) -> Result<Value> {
    if let Some(t) = &input.stream_type {
        if t != "sns" && t != "https" {
            return Err(Error::invalid_field("type", "must be sns or https"));
        }
    }
    let mut b = json!({});
    for (k, v) in [
        ("type", &input.stream_type),
        ("topic_arn", &input.topic_arn),
        ("role_arn", &input.role_arn),
        ("https_endpoint", &input.https_endpoint),
        ("status", &input.status),
    ] {
        if let Some(v) = v {
            b[k] = json!(v);
        }
    }
    Ok(b)
}

impl EventsService {
    pub async fn create(&self, project_id: &str, input: EventStreamInput) -> Result<EventStream> {
        check_id("project_id", project_id)?;
        match input.stream_type.as_deref() {
            Some("sns") if input.topic_arn.is_none() || input.role_arn.is_none() => {
                return Err(Error::invalid_field("topic_arn", "sns streams need topic_arn and role_arn"))
            }
            Some("https") if input.https_endpoint.is_none() => {
                return Err(Error::invalid_field("https_endpoint", "https streams need https_endpoint"))
            }
            None => return Err(Error::invalid_field("type", "is required (sns or https)")),
            _ => {}
        }
        let c = console(&self.t, "events.create")?;
        let path = format!("projects/{}/eventstreams", crate::ids::seg(project_id));
        let res = c
            .send(Call::post(&path).json(body(&input)?))
            .await
            .and_then(|r| Ok((stream(&self.t.name, &c.decode(&r)?), r.request_id)));
        self.t.emit(
            AuditEvent::mutation(names::EVENT_STREAM_CREATE, &self.t.name, res.as_ref().map(|(_, rid)| rid.as_str()))
                .target_opt(res.as_ref().ok().map(|(x, _)| x.id.as_str()))
                .attr("project_id", project_id),
        );
        Ok(res?.0)
    }

    pub async fn list(&self, project_id: &str) -> Result<Vec<EventStream>> {
        check_id("project_id", project_id)?;
        let c = console(&self.t, "events.list")?;
        let path = format!("projects/{}/eventstreams", crate::ids::seg(project_id));
        let r = c.send(Call::get(&path)).await?;
        let v: Value = c.decode(&r)?;
        Ok(v.get("event_streams").map(array).unwrap_or_default().iter().map(|s| stream(&self.t.name, s)).collect())
    }

    /// Change a stream; omitted fields keep their value.
    pub async fn set(&self, project_id: &str, stream_id: &str, input: EventStreamInput) -> Result<EventStream> {
        check_id("project_id", project_id)?;
        check_id("stream_id", stream_id)?;
        let c = console(&self.t, "events.set")?;
        let path = format!("projects/{}/eventstreams/{}", crate::ids::seg(project_id), crate::ids::seg(stream_id));
        let res = c.send(Call::new(http::Method::PUT, &path).json(body(&input)?)).await;
        self.t.emit(
            AuditEvent::mutation(names::EVENT_STREAM_SET, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(stream_id)
                .attr("project_id", project_id),
        );
        Ok(stream(&self.t.name, &c.decode(&res?)?))
    }

    /// Audited `event_stream.delete`.
    pub async fn delete(&self, project_id: &str, stream_id: &str) -> Result<()> {
        check_id("project_id", project_id)?;
        check_id("stream_id", stream_id)?;
        let c = console(&self.t, "events.delete")?;
        let path = format!("projects/{}/eventstreams/{}", crate::ids::seg(project_id), crate::ids::seg(stream_id));
        let res = c.send(Call::delete(&path)).await;
        self.t.emit(
            AuditEvent::mutation(names::EVENT_STREAM_DELETE, &self.t.name, res.as_ref().map(|r| r.request_id.as_str()))
                .target(stream_id)
                .attr("project_id", project_id),
        );
        res.map(|_| ())
    }
}
