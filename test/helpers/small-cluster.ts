/** A small hard-way cluster with ECDSA keys: a whole gen in well under a second, for tests that run many. */
export const SMALL_CLUSTER = `profile: hardway
clusterDomain: cluster.local
serviceCIDR: 10.96.0.0/24
apiServer: { endpoint: 192.168.5.30, port: 6443, extraSANs: [] }
key: { algorithm: ecdsa, curve: P-256 }
validityDays: { ca: 1000, leaf: 1000 }
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
`;
