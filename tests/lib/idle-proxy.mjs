// A TCP proxy on loopback that cuts a connection after idleMs without a byte in either
// direction, as an L7 proxy (60 s) or an NLB (350 s) does to silent flows; scaled down so a
// test stays short. It forwards bytes untouched (TLS passes through), and counts cuts.
import net from 'node:net';

// targetPort may be set later with setTarget (a proxy started before what it fronts).
export async function startIdleProxy({ targetPort, targetHost = '127.0.0.1', idleMs }) {
	let target = targetPort;
	const conns = new Set();
	const stats = { accepted: 0, cuts: 0 };
	const server = net.createServer((client) => {
		stats.accepted += 1;
		const upstream = net.connect(target, targetHost);
		const conn = { openedAt: Date.now(), closedAt: null, cut: false, bytesUp: 0, bytesDown: 0 };
		conns.add(conn);
		let timer;
		const close = () => {
			clearTimeout(timer);
			if (conn.closedAt === null) conn.closedAt = Date.now();
			client.destroy();
			upstream.destroy();
		};
		const arm = () => {
			clearTimeout(timer);
			timer = setTimeout(() => { conn.cut = true; stats.cuts += 1; close(); }, idleMs);
		};
		conn.close = close;
		arm();
		client.on('data', (d) => { conn.bytesUp += d.length; arm(); upstream.write(d); });
		upstream.on('data', (d) => { conn.bytesDown += d.length; arm(); client.write(d); });
		for (const s of [client, upstream]) {
			s.on('error', close);
			s.on('close', close);
		}
	});
	await new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', resolve);
	});
	return {
		port: server.address().port,
		stats,
		setTarget(port) { target = port; },
		connections: () => [...conns],
		close: () => new Promise((resolve) => {
			server.close(() => resolve());
			for (const c of conns) c.close();
		}),
	};
}
