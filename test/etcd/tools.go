//go:build tools

// The commands scripts/k8s-bins.sh builds; this file keeps them in go.mod and go.sum.
package tools

import (
	_ "go.etcd.io/etcd/etcdctl/v3"
	_ "go.etcd.io/etcd/server/v3"
)
