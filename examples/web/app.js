// A homl model exported to ONNX (`homl export MODEL --format onnx`), run in the page by
// onnxruntime-web. The page reads <model>.onnx and <model>.schema.json beside it (?model=NAME,
// default "model"), builds a form from the schema's inputs and predicts on submit.
//
// For programs (and the tests): `await window.homlReady` then `await window.homlCheck(rows)`,
// rows laid out as the schema's example rows ({column: number | string | null}); it returns
// {predictions} for a regression, {labels, probabilities} for a classifier. ?check=1 runs the
// schema's example rows on load and shows how far they land from the Python predictions.
import * as ort from "./node_modules/onnxruntime-web/dist/ort.wasm.min.mjs";

// The runtime's wasm files come from the same folder, never from a CDN; one thread needs no
// cross-origin isolation (no COOP/COEP headers), so any static file server will do.
ort.env.wasm.wasmPaths = new URL("./node_modules/onnxruntime-web/dist/", import.meta.url).href;
ort.env.wasm.numThreads = 1;

const params = new URLSearchParams(window.location.search);
const modelName = params.get("model") || "model";
const $ = (id) => document.getElementById(id);

function isNumberInput(input) {
  return input.type === "double";
}

// One column's values as the graph takes them: doubles with NaN for missing, strings with "".
function columnTensor(input, rows) {
  if (isNumberInput(input)) {
    const values = new Float64Array(rows.length);
    rows.forEach((row, i) => {
      const value = row[input.name];
      if (value === null || value === undefined || value === "") values[i] = NaN;
      else if (typeof value === "boolean") values[i] = value ? 1 : 0;
      else values[i] = Number(value);
    });
    return new ort.Tensor("float64", values, [rows.length, 1]);
  }
  const values = rows.map((row) => {
    const value = row[input.name];
    return value === null || value === undefined ? "" : String(value);
  });
  return new ort.Tensor("string", values, [rows.length, 1]);
}

function plain(values) {
  // int64 labels come back as BigInt: numbers are enough for class labels.
  return Array.from(values, (v) => (typeof v === "bigint" ? Number(v) : v));
}

async function predict(session, schema, rows) {
  const feeds = {};
  for (const input of schema.inputs) feeds[input.name] = columnTensor(input, rows);
  const results = await session.run(feeds);
  if (schema.task === "regression") {
    return { predictions: plain(results[schema.outputs[0].name].data) };
  }
  const labelName = schema.outputs.find((o) => o.name === "label")?.name || schema.outputs[0].name;
  const probaName = schema.outputs.find((o) => o.name === "probabilities")?.name || schema.outputs[1].name;
  const proba = results[probaName];
  const width = proba.dims[1];
  const flat = plain(proba.data);
  const probabilities = rows.map((_, i) => flat.slice(i * width, (i + 1) * width));
  return { labels: plain(results[labelName].data), probabilities };
}

function buildForm(schema) {
  const form = $("form");
  const fields = $("fields");
  const first = schema.example?.rows?.[0] || {};
  for (const input of schema.inputs) {
    const label = document.createElement("label");
    label.textContent = input.name;
    let field;
    if (input.categories) {
      field = document.createElement("select");
      const missing = new Option("(missing)", "");
      field.add(missing);
      for (const category of input.categories) field.add(new Option(category, category));
    } else if (input.kind === "boolean") {
      field = document.createElement("select");
      field.add(new Option("(missing)", ""));
      field.add(new Option("false", "0"));
      field.add(new Option("true", "1"));
    } else {
      field = document.createElement("input");
      field.type = isNumberInput(input) ? "number" : "text";
      if (isNumberInput(input)) field.step = "any";
    }
    field.name = input.name;
    field.id = `field-${input.name}`;
    const start = first[input.name];
    if (start !== null && start !== undefined) {
      field.value = input.kind === "boolean" ? String(Number(start)) : String(start);
    }
    label.append(field);
    fields.append(label);
  }
  form.hidden = false;
}

function readForm(schema) {
  const row = {};
  for (const input of schema.inputs) {
    const value = $(`field-${input.name}`).value;
    row[input.name] = value === "" ? null : isNumberInput(input) ? Number(value) : value;
  }
  return row;
}

function format(value) {
  return typeof value === "number" ? value.toLocaleString(undefined, { maximumSignificantDigits: 8 }) : String(value);
}

function show(schema, result) {
  const out = $("result");
  out.replaceChildren();
  const line = document.createElement("p");
  const value = document.createElement("output");
  value.id = "prediction";
  if (schema.task === "regression") {
    value.dataset.value = String(result.predictions[0]);
    value.textContent = format(result.predictions[0]);
  } else {
    value.dataset.value = String(result.labels[0]);
    value.textContent = String(result.labels[0]);
  }
  line.append(`${schema.target}: `, value);
  out.append(line);
  if (schema.task !== "regression") {
    const table = document.createElement("table");
    table.id = "probabilities";
    table.createTHead().insertRow().append(
      ...["class", "probability"].map((t) => Object.assign(document.createElement("th"), { textContent: t })));
    const body = table.createTBody();
    (schema.classes || []).forEach((cls, j) => {
      const tr = body.insertRow();
      tr.dataset.class = String(cls);
      tr.dataset.value = String(result.probabilities[0][j]);
      tr.insertCell().textContent = String(cls);
      tr.insertCell().textContent = result.probabilities[0][j].toFixed(4);
    });
    out.append(table);
  }
}

// The schema's example rows against the Python predictions saved with them.
async function selfCheck(session, schema) {
  const example = schema.example;
  if (!example?.rows?.length) return "the schema holds no example rows";
  const result = await predict(session, schema, example.rows);
  let worst = 0;
  example.expected.forEach((want, i) => {
    if (schema.task === "regression") {
      worst = Math.max(worst, Math.abs(result.predictions[i] - want) / Math.max(Math.abs(want), 1));
    } else {
      want.forEach((p, j) => { worst = Math.max(worst, Math.abs(result.probabilities[i][j] - p)); });
    }
  });
  const tolerance = schema.check?.tolerance ?? 1e-5;
  document.body.dataset.check = worst <= tolerance ? "ok" : "fail";
  return `${example.rows.length} example rows: largest difference from Python ${worst.toExponential(2)} ` +
    `(${worst <= tolerance ? "within" : "over"} ${tolerance})`;
}

async function main() {
  const status = $("status");
  try {
    const [schema, bytes] = await Promise.all([
      fetch(`${modelName}.schema.json`).then((r) => {
        if (!r.ok) throw new Error(`${modelName}.schema.json: HTTP ${r.status}`);
        return r.json();
      }),
      fetch(`${modelName}.onnx`).then((r) => {
        if (!r.ok) throw new Error(`${modelName}.onnx: HTTP ${r.status}`);
        return r.arrayBuffer();
      }),
    ]);
    const session = await ort.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] });
    $("title").textContent = `${schema.model}: ${schema.task} of ${schema.target}`;
    buildForm(schema);
    $("form").addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        show(schema, await predict(session, schema, [readForm(schema)]));
      } catch (error) {
        $("result").textContent = `prediction failed: ${error.message || error}`;
        console.error(error);
      }
    });
    window.homlCheck = (rows) => predict(session, schema, rows);
    status.textContent = `onnxruntime-web ${ort.env.versions?.web ?? ""} ready`;
    if (params.get("check")) status.textContent = await selfCheck(session, schema);
    document.body.dataset.ready = "1";
    return schema;
  } catch (error) {
    status.textContent = `could not load the model: ${error.message || error}`;
    document.body.dataset.ready = "error";
    console.error(error);
    throw error;
  }
}

window.homlReady = main();
