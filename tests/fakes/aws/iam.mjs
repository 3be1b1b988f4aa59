// The small part of IAM the fakes need: trust-policy checks for AssumeRoleWithWebIdentity
// and permission-policy evaluation for SSM, with policies kept as plain data so a test can
// configure the mistakes operators really make (seed node-shell-ssm §4, §7).

// Glob match as IAM does for Action/Resource/StringLike: '*' any run, '?' one character.
export function globMatch(pattern, value, { caseInsensitive = false } = {}) {
  const re = new RegExp(`^${pattern.split(/([*?])/).map((part) => {
    if (part === '*') return '.*';
    if (part === '?') return '.';
    return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }).join('')}$`, caseInsensitive ? 'is' : 's');
  return re.test(value);
}

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function substitute(text, variables) {
  return text.replace(/\$\{([^}]+)\}/g, (all, name) => (name in variables ? variables[name] : all));
}

// Condition operators the seed's policies use, with IAM's rule that a missing key makes a
// positive operator fail and a negated one succeed.
function conditionHolds(operator, key, wanted, context) {
  const have = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
  const values = asList(wanted).map(String);
  if (!have || have[1] === undefined) return operator.startsWith('StringNot');
  const actual = asList(have[1]).map(String);
  const anyMatch = (cmp) => actual.some((a) => values.some((w) => cmp(w, a)));
  switch (operator) {
    case 'StringEquals': return anyMatch((w, a) => w === a);
    case 'StringLike': return anyMatch((w, a) => globMatch(w, a));
    case 'StringNotEquals': return !anyMatch((w, a) => w === a);
    case 'StringNotLike': return !anyMatch((w, a) => globMatch(w, a));
    case 'StringEqualsIgnoreCase': return anyMatch((w, a) => w.toLowerCase() === a.toLowerCase());
    default: return false; // an operator this fake does not know never grants anything
  }
}

function statementApplies(st, { action, resource, context, variables }) {
  if (!asList(st.Action).some((a) => globMatch(a, action, { caseInsensitive: true }))) return false;
  const resources = asList(st.Resource ?? '*').map((r) => substitute(r, variables));
  if (!resources.some((r) => globMatch(r, resource))) return false;
  for (const [operator, keys] of Object.entries(st.Condition ?? {})) {
    for (const [key, wanted] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, wanted, context)) return false;
    }
  }
  return true;
}

// Returns { allowed, decision: 'allow'|'explicit-deny'|'implicit-deny', sid }.
export function evaluatePolicy(statements, request) {
  const req = { context: {}, variables: {}, ...request };
  let allow = null;
  for (const st of statements ?? []) {
    if (!statementApplies(st, req)) continue;
    if (st.Effect === 'Deny') return { allowed: false, decision: 'explicit-deny', sid: st.Sid };
    if (st.Effect === 'Allow' && !allow) allow = st;
  }
  return allow ? { allowed: true, decision: 'allow', sid: allow.Sid } : { allowed: false, decision: 'implicit-deny' };
}

// The permission policy of seed §4b, as data.
export function seedPermissionPolicy({ region = '*', account = '*', clusterName }) {
  return [
    {
      Sid: 'StartSessionOnFleetInstances',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: `arn:aws:ec2:${region}:${account}:instance/*`,
      Condition: { StringEquals: { 'ssm:resourceTag/eks:cluster-name': clusterName } },
    },
    {
      Sid: 'StartSessionDocument',
      Effect: 'Allow',
      Action: 'ssm:StartSession',
      Resource: `arn:aws:ssm:${region}:${account}:document/SSM-SessionManagerRunShell`,
    },
    {
      Sid: 'ManageOwnSessions',
      Effect: 'Allow',
      Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
      Resource: 'arn:aws:ssm:*:*:session/${aws:userid}-*',
    },
    { Sid: 'Preflight', Effect: 'Allow', Action: 'ssm:DescribeInstanceInformation', Resource: '*' },
  ];
}

// Trust policy check for AssumeRoleWithWebIdentity. `trust` is
// { aud, sub?: [...], groups?: [...] } standing for the StringEquals conditions
// "<issuer-host>:aud", "<issuer-host>:sub" and a condition on a groups claim. As the seed
// (§4a) records, AWS does not evaluate custom array claims such as groups, so a groups
// condition never matches and the role cannot be assumed by anyone.
export function trustAllows(trust, claims) {
  if (!trust) return { allowed: false, why: 'role has no trust policy for web identities' };
  const auds = asList(claims.aud);
  if (trust.aud !== undefined && !auds.includes(trust.aud)) {
    return { allowed: false, why: 'aud condition not met' };
  }
  if (trust.sub !== undefined && !asList(trust.sub).includes(claims.sub)) {
    return { allowed: false, why: 'sub condition not met' };
  }
  if (trust.groups !== undefined) {
    return { allowed: false, why: 'groups condition cannot be evaluated by STS' };
  }
  return { allowed: true };
}
