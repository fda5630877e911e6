/**
 * The lab of "Kubernetes the hard way" on Vagrant: what `kube-pki` uses with no --config and what
 * `kube-pki init` writes. The repository's cluster.yaml is this text (a test keeps them equal).
 */
export const DEFAULT_CLUSTER_YAML = `# kube-pki cluster description: the "Kubernetes the hard way" Vagrant lab.
# Edit it, then: npm run certs -- --config cluster.yaml   (see README "Configuration")
profile: hardway                # hardway (flat files, as in the lab) | kubeadm (/etc/kubernetes layout)
clusterDomain: cluster.local
serviceCIDR: 10.96.0.0/24       # the apiserver gets the first address (10.96.0.1) as a SAN
apiServer:
  endpoint: 192.168.5.30        # the load balancer: IP or DNS name clients use to reach the apiserver
  port: 6443
  extraSANs: []
key: { algorithm: rsa, size: 2048 }
# validityDays: { ca: 1000, leaf: 1000 }   # left out: the profile's own (hardway 1000/1000, kubeadm 3650/365)
# encryption: { provider: aescbc }        # Secrets at rest: aescbc|aesgcm|secretbox, or false; left out: hardway aescbc, kubeadm none
nodes:
  - { name: master-1, address: 192.168.5.11, role: controlplane }
  - { name: master-2, address: 192.168.5.12, role: controlplane }
  - { name: worker-1, address: 192.168.5.21, role: worker }
  - { name: worker-2, address: 192.168.5.22, role: worker }
  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }
`;
