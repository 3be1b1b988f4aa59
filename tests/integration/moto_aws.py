"""moto (the Python AWS fake) as the second implementation for tests/integration/aws_moto.test.mjs.

moto's STS, its request routing, its JSON 1.1 serializer and its SigV4 check (botocore's
SigV4Auth over the request it received, once authentication is switched on) are used as
they are. moto 5.2 does not implement the three Session Manager calls the node shell makes,
so they are added here to moto's SSM responder, backed by moto's own EC2 instances:
DescribeInstanceInformation reports running instances as Online, StartSession answers for a
running instance only (else TargetNotConnected) with a SessionId that starts with the
caller's role-session-name as AWS does, TerminateSession echoes the id.

Listens on a free loopback port, sets up an IAM role with an SSM policy, a role without
one, and two instances (one running, one stopped), prints one JSON line with the port and
the ids, and serves until stdin closes.
"""
import json
import secrets
import sys
import time

import boto3
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.server import ThreadedMotoServer
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.sts.models import sts_backends

REGION = "us-east-1"
SSM_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Action": ["ssm:StartSession", "ssm:TerminateSession",
                   "ssm:DescribeInstanceInformation"],
        "Resource": "*",
    }],
}
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/idp.example"},
        "Action": "sts:AssumeRoleWithWebIdentity",
    }],
}


class TargetNotConnected(ServiceException):
    code = "TargetNotConnected"


def _instances(resp):
    backend = ec2_backends[resp.current_account][resp.region]
    return {i.id: i for i in backend.all_instances()}


def _caller_session_name(resp):
    auth = resp.headers.get("Authorization", "")
    key = auth.partition("Credential=")[2].partition("/")[0]
    for backend in sts_backends[resp.current_account].values():
        for role in backend.assumed_roles:
            if role.access_key_id == key:
                return role.session_name
    return "unknown"


def describe_instance_information(self):
    filters = self._get_param("Filters") or []
    wanted = [v for f in filters if f.get("Key") == "InstanceIds" for v in f.get("Values", [])]
    found = []
    for iid, inst in _instances(self).items():
        if wanted and iid not in wanted:
            continue
        found.append({
            "InstanceId": iid,
            "PingStatus": "Online" if inst.state == "running" else "ConnectionLost",
            "LastPingDateTime": time.time(),
            "AgentVersion": "3.3.40.0",
            "IsLatestVersion": False,
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "ResourceType": "EC2Instance",
            "IPAddress": inst.private_ip,
            "ComputerName": inst.private_dns_name,
        })
    return ActionResult({"InstanceInformationList": found})


def start_session(self):
    target = self._get_param("Target")
    inst = _instances(self).get(target)
    if inst is None or inst.state != "running":
        raise TargetNotConnected(f"{target} is not connected.")
    sid = f"{_caller_session_name(self)}-{secrets.token_hex(9)}"
    return ActionResult({
        "SessionId": sid,
        "TokenValue": secrets.token_urlsafe(48),
        "StreamUrl": f"wss://ssmmessages.{self.region}.amazonaws.com/v1/data-channel/{sid}"
                     "?role=publish_subscribe&cell-number=AAEAAQ==",
    })


def terminate_session(self):
    return ActionResult({"SessionId": self._get_param("SessionId")})


SimpleSystemManagerResponse.describe_instance_information = describe_instance_information
SimpleSystemManagerResponse.start_session = start_session
SimpleSystemManagerResponse.terminate_session = terminate_session


def main():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    kw = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="setup",
              aws_secret_access_key="setup")
    iam = boto3.client("iam", **kw)
    ec2 = boto3.client("ec2", **kw)
    role = iam.create_role(RoleName="periscope-node-shell",
                           AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]
    iam.put_role_policy(RoleName="periscope-node-shell", PolicyName="ssm",
                        PolicyDocument=json.dumps(SSM_POLICY))
    bare = iam.create_role(RoleName="periscope-no-ssm",
                           AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))["Role"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in
           ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]]
    ec2.stop_instances(InstanceIds=[ids[1]])
    print(json.dumps({"port": port, "url": url, "region": REGION,
                      "roleArn": role["Arn"], "roleWithoutSsmArn": bare["Arn"],
                      "runningInstance": ids[0], "stoppedInstance": ids[1]}), flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
