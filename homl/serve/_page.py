"""The page at ``/``: one form per served model, built from its schema, to try a prediction.

Each feature is a field of its kind (a number, a choice among the training categories, a yes/no,
or text); an empty field is sent as ``null``. The answer of ``/v1/models/{name}/predict`` is
shown below the form. Self-contained: no script or style from elsewhere.
"""

from __future__ import annotations

from html import escape

from ._pool import ServedModel

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
section { border: 1px solid #ddd; border-radius: 8px; padding: 1rem 1.5rem; margin-bottom: 1.5rem; }
label { display: inline-block; min-width: 14rem; margin: 0.2rem 0; }
input, select { width: 14rem; }
pre { background: #f6f6f6; padding: 0.8rem; white-space: pre-wrap; }
"""

_SCRIPT = """
async function predict(form) {
  const row = {};
  for (const field of form.querySelectorAll("[data-feature]")) {
    const kind = field.dataset.kind, value = field.value;
    if (value === "") { row[field.dataset.feature] = null; }
    else if (kind === "numeric") { row[field.dataset.feature] = Number(value); }
    else if (kind === "boolean") { row[field.dataset.feature] = value === "true"; }
    else { row[field.dataset.feature] = value; }
  }
  const headers = {"Content-Type": "application/json"};
  const key = document.getElementById("api-key").value;
  if (key) { headers["X-API-Key"] = key; }
  const output = document.getElementById("result-" + form.dataset.model);
  output.textContent = "...";
  try {
    const answer = await fetch(form.dataset.url, {method: "POST", headers, body: JSON.stringify({instances: [row]})});
    output.textContent = JSON.stringify(await answer.json(), null, 2);
    output.dataset.status = answer.status;
  } catch (error) {
    output.textContent = String(error);
  }
  return false;
}
"""


def page(models: list[ServedModel]) -> str:
    """The HTML of the page for the ``models`` served now."""
    sections = "\n".join(_section(model) for model in models)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><link rel='icon' href='data:,'><title>homl models</title>"
            f"<style>{_STYLE}</style></head><body><h1>homl models</h1>"
            "<p><label for='api-key'>API key (if the server asks for one)</label>"
            "<input id='api-key' type='password' autocomplete='off'></p>"
            f"{sections}<script>{_SCRIPT}</script></body></html>")


def _section(model: ServedModel) -> str:
    schema = model.model.schema
    name = escape(model.name)
    fields = "\n".join(_field(model.name, column) for column in schema.features if column.name != schema.target)
    score = model.record.metrics.get("test_score")
    scored = f" — test {escape(score['metric'])} {score['value']:.5g}" if isinstance(score, dict) else ""
    return (f"<section><h2>{name} <small>version {model.version}, {escape(model.record.kind)}{scored}</small></h2>"
            f"<form id='form-{name}' data-model='{name}' data-url='/v1/models/{name}/predict' "
            f"onsubmit='predict(this); return false'>{fields}"
            f"<p><button type='submit' id='predict-{name}'>Predict</button></p></form>"
            f"<pre id='result-{name}'></pre></section>")


def _field(model: str, column) -> str:
    ident = escape(f"{model}-{column.name}", quote=True)
    data = f"data-feature='{escape(column.name, quote=True)}' data-kind='{escape(column.kind, quote=True)}'"
    label = f"<label for='{ident}'>{escape(column.name)}</label>"
    if column.kind == "categorical" and column.categories:
        options = "".join(f"<option>{escape(str(c))}</option>" for c in column.categories)
        control = f"<select id='{ident}' {data}><option value=''>(missing)</option>{options}</select>"
    elif column.kind == "boolean":
        control = (f"<select id='{ident}' {data}><option value=''>(missing)</option>"
                   "<option value='true'>yes</option><option value='false'>no</option></select>")
    elif column.kind == "numeric":
        control = f"<input id='{ident}' type='number' step='any' {data}>"
    else:
        control = f"<input id='{ident}' type='text' {data}>"
    return f"<div>{label}{control}</div>"
