// The few HTML pages the local IdP shows. Plain forms, no JavaScript needed: a test client
// without a browser reads the form's action and field names and posts it (see
// tests/lib/oidc-browser.mjs). The only script is the auto-submit of the sign-out
// confirmation, which a browser-less client replaces by submitting the form itself.

const STYLE = `body{font-family:system-ui,sans-serif;max-width:24em;margin:3em auto;padding:0 1em;color:#222}
label{display:block;margin:.8em 0}input{display:block;width:100%;padding:.3em;box-sizing:border-box}
button{margin-top:1em;padding:.4em 1.2em}.error{color:#a00020}.hint{color:#666;font-size:.9em}`;

export function escapeHtml(value) {
	return String(value ?? '')
		.replaceAll('&', '&amp;')
		.replaceAll('<', '&lt;')
		.replaceAll('>', '&gt;')
		.replaceAll('"', '&quot;')
		.replaceAll("'", '&#39;');
}

function page(title, body) {
	return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
${body}
</body>
</html>
`;
}

// The login form. `error` (optional) is shown above it; `login` refills the username.
export function loginPage({ action, clientName, login = '', error, demoHint }) {
	const err = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n` : '';
	const hint = demoHint ? `<p class="hint">${escapeHtml(demoHint)}</p>\n` : '';
	return page('Sign in - periscope dev IdP', `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(clientName)}</strong></p>
${err}<form method="post" action="${escapeHtml(action)}">
<label>Username <input name="login" value="${escapeHtml(login)}" autocomplete="username" autofocus required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>
${hint}`);
}

// oidc-provider's end-session endpoint hands us a form (id "op.logoutForm", a hidden xsrf
// field, action = the confirm endpoint). We add logout=yes (end the whole IdP session, not
// just this client's part) and submit it on load. Without JavaScript the button does it; a
// browser-less client submits the form with its hidden fields, which is the same request.
export function logoutConfirmPage(form) {
	const withLogoutYes = form.replace('</form>',
		'<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>');
	return page('Signing out - periscope dev IdP', `<h1>Signing out</h1>
${withLogoutYes}
<script>document.getElementById('op.logoutForm').submit()</script>`);
}

export function signedOutPage() {
	return page('Signed out - periscope dev IdP', '<h1>Signed out</h1>\n<p>You are signed out of the periscope dev IdP.</p>');
}

export function errorPage(title, details) {
	const lines = Object.entries(details)
		.filter(([, v]) => v !== undefined && v !== null && v !== '')
		.map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</p>`)
		.join('\n');
	return page(`${title} - periscope dev IdP`, `<h1>${escapeHtml(title)}</h1>\n${lines}`);
}
