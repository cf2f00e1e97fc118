//! Commit messages rendered from Flux-equivalent template data.

use gitops_core::fs::RelPath;
use gitops_setters::apply::apply_tree;
use gitops_setters::message::{self, AutomationObject, DEFAULT_TEMPLATE, TemplateData};

use crate::{fixture, mem_tree, policies};

/// Flux's `testCommitTemplateResultV2`, translated to MiniJinja.
const RESULT_V2: &str = "Commit summary with ResultV2\n\nAutomation: {{ automation_object }}\n\n\
{% for f in changed.file_changes %}- File: {{ f.file }}\n\
{% for o in f.objects %}  - Object: {{ o.kind }}/{{ o.namespace }}/{{ o.name }}\n    Changes:\n\
{% for c in o.changes %}    - {{ c.old_value }} -> {{ c.new_value }}\n{% endfor %}{% endfor %}{% endfor %}";

fn data() -> TemplateData {
    let tree = mem_tree(&fixture("flux-setters/original"));
    let p = policies(&[
        (
            "automation:worker",
            "registry.example.com/team/worker:1.5.2",
        ),
        ("automation:api", "registry.example.com/team/api:3.1.0"),
    ]);
    let report = apply_tree(&tree, &RelPath::root(), &p, &mut |_, _, _| Ok(())).unwrap();
    TemplateData::new(&report, AutomationObject::new("flux-system", "apps"))
        .with_value("cluster", "prod")
}

#[test]
fn default_message_is_fluxs() {
    assert_eq!(DEFAULT_TEMPLATE, "Update from image update automation");
    assert_eq!(message::render(None, &data()).unwrap(), DEFAULT_TEMPLATE);
    assert_eq!(
        message::render(Some(""), &data()).unwrap(),
        DEFAULT_TEMPLATE
    );
}

#[test]
fn result_v2_template() {
    let msg = message::render(Some(RESULT_V2), &data()).unwrap();
    assert_eq!(
        msg,
        "Commit summary with ResultV2

Automation: flux-system/apps

- File: Kustomization
  - Object: Kustomization//
    Changes:
    - old.example.com/worker -> registry.example.com/team/worker
    - 1.4.0 -> 1.5.2
- File: kustomization.yml
  - Object: Kustomization//
    Changes:
    - old.example.com/worker -> registry.example.com/team/worker
    - 1.4 -> 1.5.2
- File: list.yaml
  - Object: //
    Changes:
    - registry.example.com/team/worker:1.4.0 -> registry.example.com/team/worker:1.5.2
    - 1.4.0 -> 1.5.2
- File: marked.yaml
  - Object: CronJob/jobs/nightly
    Changes:
    - registry.example.com/team/worker:1.4.0 -> registry.example.com/team/worker:1.5.2
- File: multidoc.yaml
  - Object: Deployment/prod/api
    Changes:
    - registry.example.com/team/api:3.0.0 -> registry.example.com/team/api:3.1.0
  - Object: Deployment/prod/worker
    Changes:
    - registry.example.com/team/worker:1.4.0 -> registry.example.com/team/worker:1.5.2
"
    );
}

#[test]
fn objects_changes_and_values() {
    let t = "{% for o in changed.objects %}{{ o.kind | lower }} {{ o.name }}:{{ o.changes | length }}\n{% endfor %}\
             {% for c in changed.changes %}{{ c.setter }} {% endfor %}\n\
             {{ values.cluster }} {{ values['cluster'] }} {{ automation_object.namespace }}";
    let msg = message::render(Some(t), &data()).unwrap();
    assert_eq!(
        msg,
        " :2\ndeployment api:1\ndeployment worker:1\ncronjob nightly:1\nkustomization :4\n\
         automation:worker:name automation:worker:tag automation:worker:tag automation:worker automation:api \n\
         prod prod flux-system"
    );
}

#[test]
fn template_errors_are_errors() {
    let e = message::render(Some("{% for %}"), &data()).unwrap_err();
    assert_eq!(e.to_string(), "cannot render commit message template");
    assert!(std::error::Error::source(&e).is_some());
    assert!(message::render(Some("{{ changed.updated.files }}"), &data()).is_err());
}

#[test]
fn go_templates_are_refused_naming_the_construct() {
    // Flux's documented Go templates, each refused at its first Go action.
    let cases = [
        (
            "Automated image update\n\nAutomation name: {{ .AutomationObject }}",
            "{{ .AutomationObject }}",
            3,
            "automation_object",
        ),
        (
            "{{- range $filename, $objects := .Changed.FileChanges -}}\n- {{ $filename }}\n{{- end }}",
            "{{- range $filename, $objects := .Changed.FileChanges -}}",
            1,
            "{% for",
        ),
        (
            "x {{ printf \"%s\" .Values.env }}",
            "{{ printf \"%s\" .Values.env }}",
            1,
            "values.<key>",
        ),
        ("{{ $x := 1 }}", "{{ $x := 1 }}", 1, "{% set"),
        (
            "ok\n{{/* a comment */}}",
            "{{/* a comment */}}",
            2,
            "{# … #}",
        ),
        (
            "{{ if .Changed }}x{{ end }}",
            "{{ if .Changed }}",
            1,
            "{% if",
        ),
        (
            "{{ index .Values \"env\" }}",
            "{{ index .Values \"env\" }}",
            1,
            "values",
        ),
        (
            "{{ .Updated.Files }}",
            "{{ .Updated.Files }}",
            1,
            "Flux removed .Updated",
        ),
    ];
    for (template, construct, line, hint) in cases {
        let err = message::render(Some(template), &data()).unwrap_err();
        let message::Error::GoTemplate {
            construct: c,
            line: l,
            hint: h,
        } = &err
        else {
            panic!("{template:?}: {err:?}")
        };
        assert_eq!((c.as_str(), *l), (construct, line), "{template:?}");
        assert!(h.contains(hint), "{template:?}: {h}");
        assert!(message::check(Some(template)).is_err());
        assert!(err.to_string().contains("is not supported"), "{err}");
    }
    // MiniJinja that merely looks close is rendered, not refused.
    for ok in [
        "{{ changed.changes | length }} change(s)",
        "{{ \"keep .Dots and $dollars\" }}",
        "{{ range(2) | join(',') }}",
        "{{ values.cluster }}.{{ automation_object.name }}",
    ] {
        message::check(Some(ok)).unwrap();
        message::render(Some(ok), &data()).unwrap_or_else(|e| panic!("{ok:?}: {e:?}"));
    }
}
