// In-memory storage adapter for oidc-provider, one store per IdP instance.
//
// oidc-provider ships a development memory adapter, but its storage is a module-level
// singleton (two IdPs in one test process would share it) and using it prints a warning.
// This one is private to the IdP that creates it, and it doubles as the registry of
// clients added at run time (oidc-provider looks clients it does not know statically up
// through the "Client" model of the adapter).
//
// Expired entries are dropped when read and swept every SWEEP_EVERY writes, so memory stays
// bounded by what tests create within the longest TTL.

const SWEEP_EVERY = 500;

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function createMemoryStore() {
	const entries = new Map(); // "Model:id" -> { payload, expiresAt (epoch s) | Infinity }
	const grantMembers = new Map(); // grantId -> Set of "Model:id" keys issued under it
	const uidIndex = new Map(); // "Model:uid" -> id
	const userCodeIndex = new Map(); // "Model:userCode" -> id
	let writes = 0;

	function live(key) {
		const entry = entries.get(key);
		if (!entry) return undefined;
		if (entry.expiresAt <= nowSeconds()) {
			entries.delete(key);
			return undefined;
		}
		return entry.payload;
	}

	function sweep() {
		const now = nowSeconds();
		for (const [key, entry] of entries) if (entry.expiresAt <= now) entries.delete(key);
		for (const [grantId, keys] of grantMembers) {
			for (const key of keys) if (!entries.has(key)) keys.delete(key);
			if (keys.size === 0) grantMembers.delete(grantId);
		}
		for (const index of [uidIndex, userCodeIndex]) {
			for (const [indexKey, id] of index) {
				const model = indexKey.slice(0, indexKey.indexOf(':'));
				if (!entries.has(`${model}:${id}`)) index.delete(indexKey);
			}
		}
	}

	class MemoryAdapter {
		constructor(model) {
			this.model = model;
		}

		key(id) {
			return `${this.model}:${id}`;
		}

		async upsert(id, payload, expiresIn) {
			const key = this.key(id);
			const expiresAt = typeof expiresIn === 'number' ? nowSeconds() + expiresIn : Infinity;
			entries.set(key, { payload: structuredClone(payload), expiresAt });
			if (payload.grantId) {
				if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
				grantMembers.get(payload.grantId).add(key);
			}
			if (payload.uid) uidIndex.set(`${this.model}:${payload.uid}`, id);
			if (payload.userCode) userCodeIndex.set(`${this.model}:${payload.userCode}`, id);
			writes += 1;
			if (writes % SWEEP_EVERY === 0) sweep();
		}

		async find(id) {
			const payload = live(this.key(id));
			return payload === undefined ? undefined : structuredClone(payload);
		}

		async findByUid(uid) {
			const id = uidIndex.get(`${this.model}:${uid}`);
			return id === undefined ? undefined : this.find(id);
		}

		async findByUserCode(userCode) {
			const id = userCodeIndex.get(`${this.model}:${userCode}`);
			return id === undefined ? undefined : this.find(id);
		}

		async consume(id) {
			const entry = entries.get(this.key(id));
			if (entry) entry.payload.consumed = nowSeconds();
		}

		async destroy(id) {
			entries.delete(this.key(id));
		}

		async revokeByGrantId(grantId) {
			const keys = grantMembers.get(grantId);
			if (!keys) return;
			for (const key of keys) entries.delete(key);
			grantMembers.delete(grantId);
		}
	}

	return {
		Adapter: MemoryAdapter,
		// Registers (or replaces) a client found by oidc-provider through the adapter.
		putClient(metadata) {
			entries.set(`Client:${metadata.client_id}`, { payload: structuredClone(metadata), expiresAt: Infinity });
		},
	};
}
