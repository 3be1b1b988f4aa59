// Every STS and SSM call is recorded for the tests (GET /__test/state): which credentials
// it carried, never their secrets. The caller fills in accessKeyId, status and errorCode.
export function recordRequest(state, req, service, action) {
  const record = {
    service,
    action: action || null,
    method: req.method,
    accessKeyId: null,
    authorization: req.headers.authorization ?? null,
    securityToken: req.headers['x-amz-security-token'] !== undefined,
    status: 0,
    errorCode: null,
    time: new Date().toISOString(),
  };
  state.requests.push(record);
  return record;
}

// A TCP reset (RST) under a TLS connection, as a load balancer or a dying host sends one:
// the TLS socket wraps the TCP socket, which alone can reset.
export function resetConnection(tlsSocket) {
  const tcp = tlsSocket._parent ?? tlsSocket;
  if (typeof tcp.resetAndDestroy === 'function') tcp.resetAndDestroy();
  else tlsSocket.destroy();
}
