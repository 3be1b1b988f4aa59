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

// IAM policy variables (IAM User Guide, "IAM policy elements: Variables and tags"): a
// variable is replaced in Resource and in condition values; a variable whose key is absent
// from the request (aws:username for an assumed role) makes that string match nothing, so
// null is returned and the caller treats the string as no match.
function substitute(text, variables) {
  let missing = false;
  const out = text.replace(/\$\{([^}]+)\}/g, (all, name) => {
    if (name in variables && variables[name] !== undefined) return variables[name];
    missing = true;
    return all;
  });
  return missing ? null : out;
}

// Condition operators the seed's policies use, with IAM's rule that a missing key makes a
// positive operator fail and a negated one succeed.
function conditionHolds(operator, key, wanted, context, variables) {
  const have = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase());
  const values = asList(wanted).map((w) => substitute(String(w), variables)).filter((w) => w !== null);
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
  const resources = asList(st.Resource ?? '*').map((r) => substitute(r, variables)).filter((r) => r !== null);
  if (!resources.some((r) => globMatch(r, resource))) return false;
  for (const [operator, keys] of Object.entries(st.Condition ?? {})) {
    for (const [key, wanted] of Object.entries(keys)) {
      if (!conditionHolds(operator, key, wanted, context, variables)) return false;
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

// The permission policy of seed §4b, as data. Its "ManageOwnSessions" statement
// (session/${aws:userid}-*) is what the seed proposed and what AWS's examples show for IAM
// users with ${aws:username}; for an assumed role ${aws:userid} is "AROA…:<session name>"
// while the session id is "<session name>-<hex>", so it never matches: kept to prove that.
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

// The policy docs/node-shell.md §4b documents: the same as the seed's except for the own
// sessions, which are matched on the tag AWS puts on every session,
// aws:ssmmessages:session-id = the starting caller's aws:userid (AWS Systems Manager User
// Guide, "Additional sample IAM policies for Session Manager", example 4, "Allow a user to
// end only sessions they started", for federated users and assumed roles).
export function documentedPermissionPolicy({ region = '*', account = '*', clusterName }) {
  return [...seedPermissionPolicy({ region, account, clusterName }).map((st) => (st.Sid !== 'ManageOwnSessions' ? st : {
    Sid: 'ManageOwnSessions',
    Effect: 'Allow',
    Action: ['ssm:TerminateSession', 'ssm:ResumeSession'],
    Resource: `arn:aws:ssm:${region}:${account}:session/*`,
    Condition: { StringLike: { 'ssm:resourceTag/aws:ssmmessages:session-id': '${aws:userid}' } },
  })), {
    // Only for KMS-encrypted sessions: the key named in the Session Manager preferences.
    Sid: 'SessionDataKey',
    Effect: 'Allow',
    Action: 'kms:GenerateDataKey',
    Resource: `arn:aws:kms:${region}:${account}:key/*`,
  }];
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
