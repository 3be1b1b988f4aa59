// The fake's IAM evaluation: the seed's permission policy (§4b), the folded-document
// mistake, explicit denies, and the trust-policy rules of §4a.
import { test } from '../../lib/bounded-test.mjs';
import assert from 'node:assert/strict';
import { evaluatePolicy, seedPermissionPolicy, documentedPermissionPolicy, trustAllows, globMatch } from './iam.mjs';

const policy = seedPermissionPolicy({ region: 'us-east-1', account: '123456789012', clusterName: 'prod' });
const instance = 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc1234';
const documentArn = 'arn:aws:ssm:us-east-1:123456789012:document/SSM-SessionManagerRunShell';
const tag = (v) => ({ 'ssm:resourceTag/eks:cluster-name': v });

test('glob matching follows IAM wildcards', () => {
  assert.ok(globMatch('arn:aws:ec2:*:*:instance/*', instance));
  assert.ok(globMatch('i-0abc123?', 'i-0abc1234'));
  assert.ok(!globMatch('i-0abc123?', 'i-0abc12345'));
  assert.ok(globMatch('ssm:start*', 'ssm:StartSession', { caseInsensitive: true }));
  assert.ok(!globMatch('a.c', 'abc'));
});

test('the seed policy allows StartSession on tagged instances and on the shell document', () => {
  assert.equal(evaluatePolicy(policy, { action: 'ssm:StartSession', resource: instance, context: tag('prod') }).allowed, true);
  assert.equal(evaluatePolicy(policy, { action: 'ssm:StartSession', resource: instance, context: tag('staging') }).allowed, false);
  assert.equal(evaluatePolicy(policy, { action: 'ssm:StartSession', resource: instance, context: {} }).allowed, false);
  assert.equal(evaluatePolicy(policy, { action: 'ssm:StartSession', resource: documentArn }).allowed, true);
  assert.equal(evaluatePolicy(policy, { action: 'ssm:DescribeInstanceInformation', resource: '*' }).allowed, true);
  assert.equal(evaluatePolicy(policy, { action: 'ssm:SendCommand', resource: instance }).decision, 'implicit-deny');
});

test('own sessions: the seed\'s ${aws:userid} resource only matches an IAM user, never an assumed role', () => {
  const resource = 'arn:aws:ssm:us-east-1:123456789012:session/periscope-alice-0123456789abcdef0';
  const own = { action: 'ssm:TerminateSession', resource, variables: { 'aws:userid': 'periscope-alice' } };
  assert.equal(evaluatePolicy(policy, own).allowed, true);
  // What IAM puts in aws:userid for an assumed role: role id, colon, role session name.
  const assumed = { ...own, variables: { 'aws:userid': 'AROAEXAMPLEROLEID1234:periscope-alice' } };
  assert.equal(evaluatePolicy(policy, assumed).allowed, false);
});

test('own sessions: the documented tag condition matches the session\'s starter only', () => {
  const documented = documentedPermissionPolicy({ region: 'us-east-1', account: '123456789012', clusterName: 'prod' });
  const resource = 'arn:aws:ssm:us-east-1:123456789012:session/periscope-alice-0123456789abcdef0';
  const context = { 'ssm:resourceTag/aws:ssmmessages:session-id': 'AROAEXAMPLEROLEID1234:periscope-alice' };
  const req = { action: 'ssm:ResumeSession', resource, context, variables: { 'aws:userid': 'AROAEXAMPLEROLEID1234:periscope-alice' } };
  assert.equal(evaluatePolicy(documented, req).allowed, true);
  assert.equal(evaluatePolicy(documented, { ...req, variables: { 'aws:userid': 'AROAEXAMPLEROLEID1234:periscope-bob' } }).allowed, false);
  assert.equal(evaluatePolicy(documented, { ...req, context: {} }).allowed, false);
  // A variable absent from the request (aws:username for a role) matches nothing.
  const byName = [{ Effect: 'Allow', Action: 'ssm:TerminateSession', Resource: 'arn:aws:ssm:*:*:session/${aws:username}-*' }];
  assert.equal(evaluatePolicy(byName, { ...req, action: 'ssm:TerminateSession', variables: { 'aws:userid': 'x' } }).allowed, false);
});

test('folding the document into the tag-conditioned statement denies the document', () => {
  const folded = [{
    Effect: 'Allow', Action: 'ssm:StartSession', Resource: [instance.replace('i-0abc1234', '*'), documentArn],
    Condition: { StringEquals: { 'ssm:resourceTag/eks:cluster-name': 'prod' } },
  }];
  assert.equal(evaluatePolicy(folded, { action: 'ssm:StartSession', resource: instance, context: tag('prod') }).allowed, true);
  assert.equal(evaluatePolicy(folded, { action: 'ssm:StartSession', resource: documentArn, context: {} }).allowed, false);
});

test('an explicit Deny wins over any Allow; negated operators match a missing key', () => {
  const withDeny = [...policy, { Effect: 'Deny', Action: 'ssm:*', Resource: instance }];
  assert.equal(evaluatePolicy(withDeny, { action: 'ssm:StartSession', resource: instance, context: tag('prod') }).decision, 'explicit-deny');
  const notProd = [{ Effect: 'Allow', Action: 'ssm:StartSession', Resource: '*', Condition: { StringNotEquals: { 'ssm:resourceTag/env': 'prod' } } }];
  assert.equal(evaluatePolicy(notProd, { action: 'ssm:StartSession', resource: instance, context: {} }).allowed, true);
  assert.equal(evaluatePolicy(notProd, { action: 'ssm:StartSession', resource: instance, context: { 'ssm:resourceTag/env': 'prod' } }).allowed, false);
});

test('trust: aud must match, a sub list restricts, a groups condition never matches', () => {
  assert.equal(trustAllows({ aud: 'web' }, { aud: 'web', sub: 'x' }).allowed, true);
  assert.equal(trustAllows({ aud: 'web' }, { aud: ['api', 'web'], sub: 'x' }).allowed, true);
  assert.equal(trustAllows({ aud: 'web' }, { aud: 'api', sub: 'x' }).allowed, false);
  assert.equal(trustAllows({ aud: 'web', sub: ['a', 'b'] }, { aud: 'web', sub: 'b' }).allowed, true);
  assert.equal(trustAllows({ aud: 'web', sub: ['a', 'b'] }, { aud: 'web', sub: 'c' }).allowed, false);
  assert.equal(trustAllows({ aud: 'web', groups: ['admins'] }, { aud: 'web', sub: 'a', groups: ['admins'] }).allowed, false);
  assert.equal(trustAllows(undefined, { aud: 'web' }).allowed, false);
});
