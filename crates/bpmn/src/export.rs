//! A template as BPMN 2.0 XML: the standard model (user tasks with a
//! `potentialOwner`, parallel gateways, multi-instance completion
//! conditions, boundary timers) plus Camunda's and Flowable's
//! `candidateGroups` attributes, govchain's attributes for what BPMN has no
//! word for, and a simple left-to-right diagram so modelling tools draw it.
//! [`crate::import`] of the result gives back the same template.

use std::fmt::Write as _;

use govchain_ledger::state::kinds::{DefineWorkflow, OnReject, StageSpec};

use crate::expr::format_duration;
use crate::parse::{BPMN, CAMUNDA, FLOWABLE, GOVCHAIN};
use crate::Assignment;

/// XML text and attribute escaping (control characters become spaces).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A shape of the diagram, by its centre.
struct Shape {
    id: String,
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

struct Writer {
    xml: String,
    shapes: Vec<Shape>,
    /// Flow id, source shape, target shape.
    edges: Vec<(String, usize, usize)>,
    flows: usize,
    /// Left edge of the next column.
    x: i64,
}

impl Writer {
    fn shape(&mut self, id: &str, x: i64, y: i64, w: i64, h: i64) -> usize {
        self.shapes.push(Shape {
            id: id.to_owned(),
            x,
            y,
            w,
            h,
        });
        self.shapes.len() - 1
    }

    /// A shape in the next column, centred on `y`.
    fn column(&mut self, id: &str, w: i64, h: i64, y: i64) -> usize {
        let s = self.shape(id, self.x + w / 2, y, w, h);
        self.x += w + 60;
        s
    }

    fn flow(&mut self, from: usize, to: usize) {
        let id = format!("flow_{}", self.flows);
        self.flows += 1;
        let _ = writeln!(
            self.xml,
            r#"    <bpmn:sequenceFlow id="{id}" sourceRef="{}" targetRef="{}" />"#,
            self.shapes[from].id, self.shapes[to].id
        );
        self.edges.push((id, from, to));
    }

    fn task(&mut self, tpl: &DefineWorkflow, stage: usize, y: i64, x: Option<i64>) -> usize {
        let st: &StageSpec = &tpl.stages[stage];
        let id = format!("stage_{stage}");
        let group = Assignment {
            department: st.department.clone(),
            role: st.role.clone(),
        }
        .group_name();
        let mut attrs = format!(
            r#"id="{id}" name="{}" camunda:candidateGroups="{g}" flowable:candidateGroups="{g}""#,
            esc(&st.name),
            g = esc(&group)
        );
        if st.on_reject == OnReject::Return {
            attrs.push_str(r#" govchain:onReject="return""#);
        }
        if let Some(r) = st.return_to {
            let _ = write!(attrs, r#" govchain:returnTo="stage_{r}""#);
        }
        let _ = writeln!(self.xml, "    <bpmn:userTask {attrs}>");
        let _ = writeln!(
            self.xml,
            "      <bpmn:potentialOwner>\n        <bpmn:resourceAssignmentExpression>\n          <bpmn:formalExpression>{}</bpmn:formalExpression>\n        </bpmn:resourceAssignmentExpression>\n      </bpmn:potentialOwner>",
            esc(&group)
        );
        if st.threshold != 1 {
            let _ = writeln!(
                self.xml,
                "      <bpmn:multiInstanceLoopCharacteristics isSequential=\"false\">\n        <bpmn:completionCondition xsi:type=\"bpmn:tFormalExpression\">${{nrOfCompletedInstances &gt;= {}}}</bpmn:completionCondition>\n      </bpmn:multiInstanceLoopCharacteristics>",
                st.threshold
            );
        }
        self.xml.push_str("    </bpmn:userTask>\n");
        let shape = match x {
            Some(x) => self.shape(&id, x, y, 100, 80),
            None => self.column(&id, 100, 80, y),
        };
        if let Some(secs) = st.deadline_secs {
            let _ = writeln!(
                self.xml,
                "    <bpmn:boundaryEvent id=\"{id}_deadline\" name=\"deadline\" attachedToRef=\"{id}\">\n      <bpmn:timerEventDefinition id=\"{id}_timer\">\n        <bpmn:timeDuration xsi:type=\"bpmn:tFormalExpression\">{}</bpmn:timeDuration>\n      </bpmn:timerEventDefinition>\n    </bpmn:boundaryEvent>\n    <bpmn:endEvent id=\"{id}_expired\" name=\"expired\" />",
                format_duration(secs)
            );
            let (tx, ty) = (self.shapes[shape].x, self.shapes[shape].y);
            let timer = self.shape(&format!("{id}_deadline"), tx + 30, ty + 40, 36, 36);
            let expired = self.shape(&format!("{id}_expired"), tx + 90, ty + 100, 36, 36);
            self.flow(timer, expired);
        }
        shape
    }
}

/// The template as a BPMN 2.0 document.
#[allow(clippy::many_single_char_names)]
pub fn export(t: &DefineWorkflow) -> String {
    let pid = match t.id.as_str().chars().next() {
        Some(c) if c.is_ascii_alphabetic() => t.id.to_string(),
        _ => format!("process_{}", t.id),
    };
    let widest = (0..t.stages.len())
        .map(|i| run(t, i).len())
        .max()
        .unwrap_or(1);
    let mid = 100 + (i64::try_from(widest).unwrap_or(64) - 1) * 75;
    let mut w = Writer {
        xml: String::new(),
        shapes: Vec::new(),
        edges: Vec::new(),
        flows: 0,
        x: 160,
    };
    let _ = writeln!(
        w.xml,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:camunda="{CAMUNDA}" xmlns:flowable="{FLOWABLE}" xmlns:govchain="{GOVCHAIN}" id="definitions_{pid}" targetNamespace="{GOVCHAIN}" exporter="govchain" exporterVersion="1">
  <bpmn:process id="{pid}" name="{}" isExecutable="true" camunda:versionTag="{v}" govchain:template="{}" govchain:version="{v}">"#,
        esc(&t.name),
        t.id,
        v = t.version
    );
    w.xml.push_str("    <bpmn:startEvent id=\"start\" />\n");
    let mut prev = w.column("start", 36, 36, mid);
    let mut i = 0;
    let mut forks = 0;
    while i < t.stages.len() {
        let r = run(t, i);
        match &t.stages[i].group {
            None => {
                let s = w.task(t, i, mid, None);
                w.flow(prev, s);
                prev = s;
            }
            Some(g) => {
                forks += 1;
                let _ = writeln!(
                    w.xml,
                    "    <bpmn:parallelGateway id=\"fork_{forks}\" name=\"{0}\" govchain:group=\"{0}\" />\n    <bpmn:parallelGateway id=\"join_{forks}\" />",
                    esc(g)
                );
                let fork = w.column(&format!("fork_{forks}"), 50, 50, mid);
                w.flow(prev, fork);
                let n = i64::try_from(r.len()).unwrap_or(64);
                let x = w.x + 50;
                let tasks: Vec<usize> = r
                    .clone()
                    .zip(0..)
                    .map(|(s, k)| w.task(t, s, mid - (n - 1) * 75 + k * 150, Some(x)))
                    .collect();
                w.x += 160;
                let join = w.column(&format!("join_{forks}"), 50, 50, mid);
                for &s in &tasks {
                    w.flow(fork, s);
                }
                for &s in &tasks {
                    w.flow(s, join);
                }
                prev = join;
            }
        }
        i = r.end;
    }
    w.xml.push_str("    <bpmn:endEvent id=\"end\" />\n");
    let end = w.column("end", 36, 36, mid);
    w.flow(prev, end);
    w.xml.push_str("  </bpmn:process>\n");
    diagram(&mut w, &pid);
    w.xml.push_str("</bpmn:definitions>\n");
    w.xml
}

/// The stages signed together with stage `i` (its consecutive group).
fn run(t: &DefineWorkflow, i: usize) -> std::ops::Range<usize> {
    let g = &t.stages[i].group;
    if g.is_none() {
        return i..i + 1;
    }
    let end = (i..t.stages.len())
        .take_while(|&j| t.stages[j].group == *g)
        .count()
        + i;
    i..end
}

fn diagram(w: &mut Writer, pid: &str) {
    let mut d = format!(
        "  <bpmndi:BPMNDiagram id=\"diagram_{pid}\">\n    <bpmndi:BPMNPlane id=\"plane_{pid}\" bpmnElement=\"{pid}\">\n"
    );
    for s in &w.shapes {
        let _ = writeln!(
            d,
            "      <bpmndi:BPMNShape id=\"{0}_di\" bpmnElement=\"{0}\">\n        <dc:Bounds x=\"{1}\" y=\"{2}\" width=\"{3}\" height=\"{4}\" />\n      </bpmndi:BPMNShape>",
            s.id,
            s.x - s.w / 2,
            s.y - s.h / 2,
            s.w,
            s.h
        );
    }
    for (id, a, b) in &w.edges {
        let (a, b) = (&w.shapes[*a], &w.shapes[*b]);
        let points: Vec<(i64, i64)> = if a.y == b.y {
            vec![(a.x + a.w / 2, a.y), (b.x - b.w / 2, b.y)]
        } else if a.id.ends_with("_deadline") {
            vec![(a.x, a.y + a.h / 2), (a.x, b.y), (b.x - b.w / 2, b.y)]
        } else if a.id.starts_with("fork_") {
            let tip = if b.y < a.y {
                a.y - a.h / 2
            } else {
                a.y + a.h / 2
            };
            vec![(a.x, tip), (a.x, b.y), (b.x - b.w / 2, b.y)]
        } else {
            let tip = if a.y < b.y {
                b.y - b.h / 2
            } else {
                b.y + b.h / 2
            };
            vec![(a.x + a.w / 2, a.y), (b.x, a.y), (b.x, tip)]
        };
        let _ = writeln!(
            d,
            "      <bpmndi:BPMNEdge id=\"{id}_di\" bpmnElement=\"{id}\">"
        );
        for (x, y) in points {
            let _ = writeln!(d, "        <di:waypoint x=\"{x}\" y=\"{y}\" />");
        }
        d.push_str("      </bpmndi:BPMNEdge>\n");
    }
    d.push_str("    </bpmndi:BPMNPlane>\n  </bpmndi:BPMNDiagram>\n");
    w.xml.push_str(&d);
}
