// The demo accounts of the local IdP. `sub` values are fixed so that tests, trust policies
// of the AWS fake and audit assertions can name a user without logging in first.
//
// ops is a second admin-tier user: same group as admin, different sub, so a trust policy
// that lists only admin's sub can be shown to refuse someone who is otherwise an admin.

export const DEMO_USERS = Object.freeze([
	{ username: 'admin', password: 'admin', sub: 'user-admin', email: 'admin@periscope.local', name: 'Admin User', groups: ['platform-admins'] },
	{ username: 'viewer', password: 'viewer', sub: 'user-viewer', email: 'viewer@periscope.local', name: 'Viewer User', groups: ['viewers'] },
	{ username: 'ops', password: 'ops', sub: 'user-ops', email: 'ops@periscope.local', name: 'Ops User', groups: ['platform-admins'] },
]);

// Demo users plus `extra` ones; an extra user with the username of a demo user replaces it.
// Missing fields get predictable defaults (sub "user-<username>", email "<username>@periscope.local").
export function buildUserDirectory(extra = []) {
	const byUsername = new Map();
	for (const u of [...DEMO_USERS, ...extra]) {
		if (!u || typeof u.username !== 'string' || !u.username || typeof u.password !== 'string') {
			throw new TypeError('each IdP user needs a username and a password');
		}
		byUsername.set(u.username, {
			username: u.username,
			password: u.password,
			sub: u.sub ?? `user-${u.username}`,
			email: u.email ?? `${u.username}@periscope.local`,
			name: u.name ?? u.username,
			groups: Array.isArray(u.groups) ? [...u.groups] : [],
		});
	}
	const bySub = new Map();
	for (const u of byUsername.values()) {
		if (bySub.has(u.sub)) throw new TypeError(`two IdP users share the sub "${u.sub}"`);
		bySub.set(u.sub, u);
	}
	return {
		byUsername: (name) => byUsername.get(name),
		bySub: (sub) => bySub.get(sub),
		all: () => [...byUsername.values()],
		// An administrator moving a user between groups: tokens issued from now on (a
		// refresh included, as with a real IdP) carry the new groups.
		setGroups(name, groups) {
			const u = byUsername.get(name);
			if (!u) throw new TypeError(`no IdP user "${name}"`);
			if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw new TypeError('groups must be strings');
			u.groups = [...groups];
		},
	};
}
