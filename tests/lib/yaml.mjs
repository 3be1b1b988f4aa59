// A tiny YAML writer for the configs the harness generates (maps, lists, scalars): enough
// to write periscope.yaml in block style, quoting every string.
function scalar(v) {
	if (typeof v === 'number' || typeof v === 'boolean') return String(v);
	if (v === null || v === undefined) return '""';
	return JSON.stringify(String(v));
}

function emit(value, indent, out) {
	const pad = ' '.repeat(indent);
	if (Array.isArray(value)) {
		if (value.length === 0) return out.push(`${pad}[]`);
		for (const item of value) {
			if (item && typeof item === 'object') {
				const lines = [];
				emit(item, indent + 2, lines);
				lines[0] = `${pad}- ${lines[0].trimStart()}`;
				out.push(...lines);
			} else {
				out.push(`${pad}- ${scalar(item)}`);
			}
		}
		return;
	}
	for (const [k, v] of Object.entries(value)) {
		if (v && typeof v === 'object' && (Array.isArray(v) ? v.length : Object.keys(v).length)) {
			out.push(`${pad}${k}:`);
			emit(v, indent + 2, out);
		} else if (Array.isArray(v)) {
			out.push(`${pad}${k}: []`);
		} else if (v && typeof v === 'object') {
			out.push(`${pad}${k}: {}`);
		} else {
			out.push(`${pad}${k}: ${scalar(v)}`);
		}
	}
}

export function toYaml(obj) {
	const out = [];
	emit(obj, 0, out);
	return out.join('\n') + '\n';
}
