// Fake SSM (JSON 1.1, X-Amz-Target: AmazonSSM.<Operation>; ssm-protocol.md §C):
// DescribeInstanceInformation, StartSession, TerminateSession, ResumeSession. Every call
// must carry a SigV4 signature made with credentials the fake STS issued; the caller's
// role permission policy is evaluated per call like IAM does.
import { randomBytes, randomUUID } from 'node:crypto';
import { evaluatePolicy, documentedPermissionPolicy } from './iam.mjs';
import { verifyRequest, AwsAuthError } from './sigv4.mjs';
import { recordRequest, resetConnection } from './requests.mjs';

const DEFAULT_DOCUMENT = 'SSM-SessionManagerRunShell';
const FILTER_KEYS = ['InstanceIds', 'AgentVersion', 'PingStatus', 'PlatformTypes', 'ActivationIds',
  'IamRole', 'ResourceType', 'AssociationStatus', 'SourceIds', 'SourceTypes', 'tag-key'];
const LEGACY_FILTER_KEYS = ['InstanceIds', 'AgentVersion', 'PingStatus', 'PlatformTypes',
  'ActivationIds', 'IamRole', 'ResourceType', 'AssociationStatus'];

class SsmError extends Error {
  constructor(code, message, status = 400) {
    super(message);
    Object.assign(this, { code, status });
  }
}

// The instance record DescribeInstanceInformation returns, shaped like AWS's.
function instanceInformation(inst, region) {
  const ip = inst.ipAddress ?? '10.0.1.23';
  const lastPing = inst.pingStatus === 'Online' ? Date.now() / 1000 : (Date.now() - 3600e3) / 1000;
  return {
    InstanceId: inst.id,
    PingStatus: inst.pingStatus,
    LastPingDateTime: Math.round(lastPing * 1000) / 1000,
    AgentVersion: inst.agentVersion ?? '3.3.1142.0',
    IsLatestVersion: false,
    PlatformType: inst.platformType ?? 'Linux',
    PlatformName: inst.platform ?? 'Amazon Linux',
    PlatformVersion: inst.platformVersion ?? '2023',
    ResourceType: 'EC2Instance',
    IPAddress: ip,
    ComputerName: `ip-${ip.replace(/\./g, '-')}.${region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`}`,
    AssociationStatus: 'Success',
    LastAssociationExecutionDate: Math.floor(Date.now() / 1000) - 600,
    LastSuccessfulAssociationExecutionDate: Math.floor(Date.now() / 1000) - 600,
    AssociationOverview: { DetailedStatus: 'Success', InstanceAssociationStatusAggregatedCount: { Success: 1 } },
    SourceId: inst.id,
    SourceType: 'AWS::EC2::Instance',
  };
}

function filterMatches(inst, key, values) {
  const info = { PlatformTypes: inst.platformType ?? 'Linux', PingStatus: inst.pingStatus, ResourceType: 'EC2Instance' };
  switch (key) {
    case 'InstanceIds': return values.includes(inst.id);
    case 'SourceIds': return values.includes(inst.id);
    case 'PingStatus': return values.includes(inst.pingStatus);
    case 'PlatformTypes': return values.includes(info.PlatformTypes);
    case 'ResourceType': return values.includes('EC2Instance');
    case 'SourceTypes': return values.includes('AWS::EC2::Instance');
    case 'AgentVersion': return values.includes(inst.agentVersion ?? '3.3.1142.0');
    case 'AssociationStatus': return values.includes('Success');
    case 'tag-key': return values.some((v) => v in (inst.tags ?? {}));
    default:
      if (key.startsWith('tag:')) return values.includes((inst.tags ?? {})[key.slice(4)]);
      return false;
  }
}

export function createSsm({ config, state, channel, streamBase }) {
  const arnOf = {
    instance: (id) => `arn:aws:ec2:${config.region}:${config.account}:instance/${id}`,
    document: (name) => `arn:aws:ssm:${config.region}:${config.account}:document/${name}`,
    session: (id) => `arn:aws:ssm:${config.region}:${config.account}:session/${id}`,
  };

  function permissionsOf(cred) {
    const role = config.roles.find((r) => r.arn === cred.roleArn);
    // Credentials handed out by the Pod Identity agent or IMDS carry their role's policy.
    if (cred.permissions) return cred.permissions;
    return role?.permissions ?? documentedPermissionPolicy({
      region: config.region, account: config.account, clusterName: config.clusterName,
    });
  }

  // Throws AccessDeniedException worded like AWS's when the policy does not allow it.
  function authorize(cred, action, resource, context = {}) {
    // Policy variables as IAM resolves them for an assumed role (IAM User Guide, "Principal
    // key values"): aws:userid is "<role id>:<role session name>", aws:username is absent.
    const verdict = evaluatePolicy(permissionsOf(cred), {
      action, resource, context, variables: { 'aws:userid': cred.userId },
    });
    if (!verdict.allowed) {
      const why = verdict.decision === 'explicit-deny'
        ? `with an explicit deny in an identity-based policy`
        : `because no identity-based policy allows the ${action} action`;
      throw new SsmError('AccessDeniedException', `User: ${cred.assumedRoleArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`);
    }
  }

  function requireString(body, member, { min = 1, max = Infinity } = {}) {
    const v = body[member];
    if (typeof v !== 'string') {
      throw new SsmError('ValidationException', `1 validation error detected: Value null at '${member[0].toLowerCase()}${member.slice(1)}' failed to satisfy constraint: Member must not be null`);
    }
    if (v.length < min || v.length > max) {
      throw new SsmError('ValidationException', `1 validation error detected: Value '${v}' at '${member[0].toLowerCase()}${member.slice(1)}' failed to satisfy constraint: Member must have length between ${min} and ${max}`);
    }
    return v;
  }

  function newToken() {
    return `AAEAA${randomBytes(150).toString('base64')}`;
  }

  function streamUrl(sessionId) {
    // cell-number carries raw '+', '/' and '=' as on AWS: clients must use the URL verbatim.
    const cell = randomBytes(48).toString('base64');
    // config.streamBase (setStreamBase) puts something in front of the data channel, e.g. a
    // proxy that cuts idle connections.
    return `${config.streamBase ?? streamBase}/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=${cell}`;
  }

  // A session is authorised with its resource tags: AWS tags each session with
  // aws:ssmmessages:session-id (the starting caller's aws:userid) and
  // aws:ssmmessages:target-id, which policies read as ssm:resourceTag/<key>.
  function ownSession(cred, body, action) {
    const sessionId = requireString(body, 'SessionId', { max: 96 });
    const rec = state.sessions.get(sessionId);
    const tags = Object.fromEntries(Object.entries(rec?.resourceTags ?? {}).map(([k, v]) => [`ssm:resourceTag/${k}`, v]));
    authorize(cred, action, arnOf.session(sessionId), tags);
    return rec;
  }

  const operations = {
    DescribeInstanceInformation(cred, body) {
      authorize(cred, 'ssm:DescribeInstanceInformation', '*');
      if (body.Filters && body.InstanceInformationFilterList) {
        throw new SsmError('ValidationException', 'InstanceInformationFilterList and Filters cannot be used together');
      }
      const filters = [];
      for (const f of body.Filters ?? []) {
        if (!FILTER_KEYS.includes(f.Key) && !/^tag:.+/.test(f.Key ?? '')) {
          throw new SsmError('InvalidFilterKey', `Filter key ${f.Key} is not valid`);
        }
        if (!Array.isArray(f.Values) || f.Values.length === 0) {
          throw new SsmError('InvalidInstanceInformationFilterValue', `Filter ${f.Key} needs at least one value`);
        }
        filters.push([f.Key, f.Values]);
      }
      for (const f of body.InstanceInformationFilterList ?? []) {
        if (!LEGACY_FILTER_KEYS.includes(f.key)) throw new SsmError('InvalidFilterKey', `Filter key ${f.key} is not valid`);
        filters.push([f.key, f.valueSet ?? []]);
      }
      const max = body.MaxResults ?? 10;
      if (!Number.isInteger(max) || max < 5 || max > 50) {
        throw new SsmError('ValidationException', `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value between 5 and 50`);
      }
      let offset = 0;
      if (body.NextToken !== undefined) {
        offset = Number(Buffer.from(String(body.NextToken), 'base64').toString('utf8').replace(/^offset:/, ''));
        if (!Number.isInteger(offset) || offset < 0) throw new SsmError('InvalidNextToken', 'The specified token is not valid.');
      }
      const all = [...state.instances.values()].filter((inst) => filters.every(([k, v]) => filterMatches(inst, k, v)));
      const page = all.slice(offset, offset + max).map((inst) => instanceInformation(inst, config.region));
      const out = { InstanceInformationList: page };
      if (offset + max < all.length) out.NextToken = Buffer.from(`offset:${offset + max}`).toString('base64');
      return out;
    },

    StartSession(cred, body) {
      const target = requireString(body, 'Target', { max: 400 });
      const documentName = body.DocumentName ?? DEFAULT_DOCUMENT;
      if (body.Reason !== undefined && (typeof body.Reason !== 'string' || body.Reason.length < 1 || body.Reason.length > 256)) {
        throw new SsmError('ValidationException', "1 validation error detected: Value at 'reason' failed to satisfy constraint: Member must have length less than or equal to 256");
      }
      const inst = state.instances.get(target);
      const tagContext = Object.fromEntries(Object.entries(inst?.tags ?? {}).map(([k, v]) => [`ssm:resourceTag/${k}`, v]));
      // StartSession is authorised against the instance and the document: both must pass.
      authorize(cred, 'ssm:StartSession', arnOf.instance(target), tagContext);
      authorize(cred, 'ssm:StartSession', arnOf.document(documentName), {});
      if (documentName !== DEFAULT_DOCUMENT) {
        throw new SsmError('InvalidDocument', `Document with name ${documentName} does not exist.`);
      }
      if (!inst || inst.pingStatus !== 'Online') {
        throw new SsmError('TargetNotConnected', `${target} is not connected.`);
      }
      const sessionId = `${cred.roleSessionName}-${randomBytes(9).toString('hex').slice(0, 17)}`.slice(-96);
      const rec = {
        sessionId,
        target,
        documentName,
        resourceTags: { 'aws:ssmmessages:session-id': cred.userId, 'aws:ssmmessages:target-id': target },
        reason: body.Reason ?? null,
        owner: {
          accessKeyId: cred.accessKeyId,
          roleArn: cred.roleArn,
          roleSessionName: cred.roleSessionName,
          assumedRoleArn: cred.assumedRoleArn,
          sub: cred.sub,
        },
        status: 'Connecting',
        createdAt: new Date().toISOString(),
        token: newToken(),
        tokenUsed: false,
        connections: 0,
        rejectedConnections: 0,
        clientIds: [],
        faults: {},
        sizes: [],
        flags: [],
        handshake: null,
        protocolErrors: [],
        discardedDuringHandshake: 0,
        inputBytes: 0,
        outputBytes: 0,
        exitCode: null,
        endedBy: null,
        endedAt: null,
        terminatedBy: null,
        failure: null,
        stats: {
          received: 0, outputSends: 0, retransmits: 0, dropped: 0, reordered: 0, duplicated: 0, unacked: 0,
          inputDropped: 0, outOfOrderInput: 0, duplicateInput: 0, cuts: 0, lostAcks: 0,
        },
      };
      state.sessions.set(sessionId, rec);
      return { SessionId: sessionId, TokenValue: rec.token, StreamUrl: streamUrl(sessionId) };
    },

    TerminateSession(cred, body) {
      const rec = ownSession(cred, body, 'ssm:TerminateSession');
      if (rec && rec.status !== 'Terminated' && rec.status !== 'Failed') {
        rec.terminatedBy = cred.accessKeyId;
        channel.terminate(rec.sessionId, 'terminate-session');
        state.terminated.push({ sessionId: rec.sessionId, accessKeyId: cred.accessKeyId, time: new Date().toISOString() });
      }
      return { SessionId: body.SessionId };
    },

    ResumeSession(cred, body) {
      const rec = ownSession(cred, body, 'ssm:ResumeSession');
      if (!rec) throw new SsmError('DoesNotExistException', `Session ${body.SessionId} does not exist.`);
      if (rec.status === 'Terminated' || rec.status === 'Failed') return { SessionId: rec.sessionId };
      rec.token = newToken();
      rec.tokenUsed = false;
      rec.resumes = (rec.resumes ?? 0) + 1;
      return { SessionId: rec.sessionId, TokenValue: rec.token, StreamUrl: streamUrl(rec.sessionId) };
    },
  };

  async function handle(req, res, body) {
    const requestId = randomUUID();
    const target = req.headers['x-amz-target'] ?? '';
    const record = recordRequest(state, req, 'ssm', target.replace(/^AmazonSSM\./, ''));
    // The fake's clock: AWS's time as a skewed client would meet it (faults.clockSkewMs).
    const now = Date.now() + (state.faults.clockSkewMs ?? 0);
    let status = 200;
    let out;
    const fault = state.faults.ssmApi?.shift();
    if (fault === 'reset') {
      // A connection reset mid-call, as a load balancer or a dying host gives one.
      record.status = 0;
      record.errorCode = 'connection-reset';
      resetConnection(req.socket);
      return;
    }
    try {
      // Faults on demand, worded as SSM answers them: throttling is HTTP 400
      // ThrottlingException "Rate exceeded"; an AWS-side fault is HTTP 500
      // InternalServerError (the model's one modeled server error for these operations).
      if (fault === 'throttle') throw new SsmError('ThrottlingException', 'Rate exceeded');
      if (fault === 'internal') throw new SsmError('InternalServerError', 'Internal Server Error', 500);
      if (fault === 'unavailable') throw new SsmError('ServiceUnavailable', 'Service Unavailable', 503);
      const auth = req.headers.authorization ? /Credential=([^/,\s]+)/.exec(req.headers.authorization) : null;
      record.accessKeyId = auth ? auth[1] : null;
      if (req.method !== 'POST') throw new SsmError('UnknownOperationException', `Method ${req.method} is not supported`);
      const { credential } = verifyRequest(
        { method: req.method, path: req.url, rawHeaders: req.rawHeaders, body },
        { service: 'ssm', region: config.region },
        (akid) => state.credentials.get(akid),
        now,
      );
      const m = /^AmazonSSM\.(\w+)$/.exec(target);
      if (!m || !operations[m[1]]) throw new SsmError('UnknownOperationException', '');
      let input;
      try {
        input = body.length ? JSON.parse(body.toString('utf8')) : {};
      } catch {
        throw new SsmError('SerializationException', 'Start of structure or map found where not expected.');
      }
      if (input === null || typeof input !== 'object' || Array.isArray(input)) {
        throw new SsmError('SerializationException', 'Expected a JSON object');
      }
      out = operations[m[1]](credential, input);
    } catch (e) {
      let err = e;
      if (e instanceof AwsAuthError) err = new SsmError(e.code, e.message);
      else if (!(e instanceof SsmError)) {
        console.error('aws fake: ssm internal error:', e);
        err = new SsmError('InternalServerError', 'Internal error', 500);
      }
      status = err.status;
      record.errorCode = err.code;
      out = { __type: err.code, message: err.message };
    }
    record.status = status;
    const text = JSON.stringify(out);
    res.writeHead(status, {
      'Content-Type': 'application/x-amz-json-1.1',
      'x-amzn-RequestId': requestId,
      // AWS's clock, which SDKs use to correct a skewed local one.
      Date: new Date(now).toUTCString(),
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }
  // The same IAM evaluation for the fake KMS (kms:GenerateDataKey on the key's ARN).
  handle.authorize = authorize;
  return handle;
}
