// Fake EKS control plane API: DescribeCluster (REST-JSON, GET /clusters/{name}, SigV4 for
// service "eks"), authorized by the caller's IAM policy (action eks:DescribeCluster on the
// cluster's ARN), answering the shape of the EKS API reference (and botocore's
// data/eks/2017-11-01/service-2.json DescribeCluster output: cluster.endpoint,
// cluster.certificateAuthority.data = base64 of the CA PEM, cluster.status). Errors are
// REST-JSON: x-amzn-ErrorType header and {"message"} (botocore parsers.py
// RestJSONParser._do_error_parse).
import { randomUUID } from 'node:crypto';
import { evaluatePolicy } from './iam.mjs';
import { recordRequest } from './requests.mjs';
import { AwsAuthError, verifyRequest } from './sigv4.mjs';

export function createEks({ config, state }) {
  const send = (res, status, body, errorType) => {
    const text = JSON.stringify(body);
    const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID() };
    if (errorType) headers['x-amzn-ErrorType'] = errorType;
    res.writeHead(status, headers);
    res.end(text);
  };

  return function handle(req, res, body) {
    const url = new URL(req.url, 'https://eks.invalid');
    const m = /^\/clusters\/([^/]+)$/.exec(url.pathname);
    const record = recordRequest(state, req, 'eks', m && req.method === 'GET' ? 'DescribeCluster' : null);
    const fail = (status, type, message) => {
      record.status = status;
      record.errorCode = type;
      return send(res, status, { message }, type);
    };
    const auth = req.headers.authorization ? /Credential=([^/,\s]+)/.exec(req.headers.authorization) : null;
    record.accessKeyId = auth ? auth[1] : null;
    let credential;
    try {
      ({ credential } = verifyRequest({ method: req.method, path: req.url, rawHeaders: req.rawHeaders, body },
        { service: 'eks', region: config.region }, (akid) => state.credentials.get(akid)));
    } catch (e) {
      if (!(e instanceof AwsAuthError)) throw e;
      const code = e.code === 'InvalidSignatureException' ? 'InvalidSignatureException' : e.code;
      return fail(403, code, e.message);
    }
    if (!m || req.method !== 'GET') return fail(404, 'NotFoundException', 'The resource could not be found.');
    const name = decodeURIComponent(m[1]);
    const arn = `arn:aws:eks:${config.region}:${config.account}:cluster/${name}`;
    const verdict = evaluatePolicy(credential.permissions ?? [], { action: 'eks:DescribeCluster', resource: arn });
    if (!verdict.allowed) {
      return fail(403, 'AccessDeniedException', `User: ${credential.assumedRoleArn} is not authorized to perform: eks:DescribeCluster on resource: ${arn}`);
    }
    const cluster = state.eksClusters.get(name);
    if (!cluster) return fail(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
    record.status = 200;
    return send(res, 200, {
      cluster: {
        name, arn, createdAt: cluster.createdAt, version: '1.32', endpoint: cluster.endpoint,
        roleArn: `arn:aws:iam::${config.account}:role/eks-cluster-role`,
        resourcesVpcConfig: { subnetIds: [], securityGroupIds: [], endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: ['0.0.0.0/0'] },
        kubernetesNetworkConfig: { serviceIpv4Cidr: '172.20.0.0/16', ipFamily: 'ipv4' },
        identity: { oidc: { issuer: `https://oidc.eks.${config.region}.amazonaws.com/id/${name.toUpperCase()}` } },
        status: 'ACTIVE',
        certificateAuthority: { data: Buffer.from(cluster.caPem).toString('base64') },
        platformVersion: 'eks.1', tags: {},
        accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
      },
    });
  };
}
