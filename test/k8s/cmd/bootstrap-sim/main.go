// bootstrap-sim joins N simulated kubelets to a cluster with a bootstrap kubeconfig, running the code the
// kubelet itself runs for TLS bootstrap (k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap.LoadClientCert:
// a key made on the "node", a kubernetes.io/kube-apiserver-client-kubelet CSR, waiting for the
// controller-manager to approve and sign it, a kubeconfig written with the signed certificate). Each node
// then registers its Node object with that certificate, as system:node:<name>. It prints one JSON line:
// how many joined, in how many seconds, and the first errors.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/kubelet/certificate/bootstrap"
)

type result struct {
	Nodes          int      `json:"nodes"`
	Joined         int      `json:"joined"`
	Failed         int      `json:"failed"`
	Seconds        float64  `json:"seconds"`
	JoinsPerSecond float64  `json:"joinsPerSecond"`
	MedianSeconds  float64  `json:"medianSeconds"`
	MaxSeconds     float64  `json:"maxSeconds"`
	Errors         []string `json:"errors"`
}

// join is one kubelet's start: TLS bootstrap, then its Node registered with the certificate it got.
func join(ctx context.Context, bootstrapKubeconfig, dir, name string, register bool) error {
	nodeDir := filepath.Join(dir, name)
	if err := os.MkdirAll(nodeDir, 0o700); err != nil {
		return err
	}
	kubeconfig := filepath.Join(nodeDir, "kubeconfig")
	if err := bootstrap.LoadClientCert(ctx, kubeconfig, bootstrapKubeconfig, filepath.Join(nodeDir, "pki"), types.NodeName(name)); err != nil {
		return fmt.Errorf("%s: bootstrap: %w", name, err)
	}
	if !register {
		return nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("%s: kubeconfig: %w", name, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kube-pki.test/simulated": "true"}}}
	if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("%s: register Node: %w", name, err)
	}
	return nil
}

func main() {
	bootstrapKubeconfig := flag.String("bootstrap-kubeconfig", "", "the bootstrap kubeconfig (token and CA), as kube-pki token create writes it")
	dir := flag.String("dir", "", "a folder of its own: one sub-folder per simulated node (key, certificate, kubeconfig)")
	nodes := flag.Int("nodes", 100, "how many nodes join")
	prefix := flag.String("prefix", "sim-", "node names are <prefix><number>")
	concurrency := flag.Int("concurrency", 0, "nodes joining at once (0: all)")
	register := flag.Bool("register", true, "register each Node with the certificate it obtained")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	klog.SetOutput(os.Stderr)
	if *bootstrapKubeconfig == "" || *dir == "" || *nodes < 1 {
		fmt.Fprintln(os.Stderr, "bootstrap-sim: --bootstrap-kubeconfig, --dir and --nodes >= 1 are needed")
		os.Exit(2)
	}
	width := *concurrency
	if width <= 0 || width > *nodes {
		width = *nodes
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	slots := make(chan struct{}, width)
	var mu sync.Mutex
	var errs []string
	var took []float64
	var wg sync.WaitGroup
	start := time.Now()
	for i := 1; i <= *nodes; i++ {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			t := time.Now()
			err := join(ctx, *bootstrapKubeconfig, *dir, name, *register)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err.Error())
				return
			}
			took = append(took, time.Since(t).Seconds())
		}(fmt.Sprintf("%s%d", *prefix, i))
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(took)
	sort.Strings(errs)
	r := result{Nodes: *nodes, Joined: len(took), Failed: len(errs), Seconds: elapsed, Errors: errs}
	if len(r.Errors) > 5 {
		r.Errors = r.Errors[:5]
	}
	if r.Errors == nil {
		r.Errors = []string{}
	}
	if elapsed > 0 {
		r.JoinsPerSecond = float64(len(took)) / elapsed
	}
	if len(took) > 0 {
		r.MedianSeconds = took[len(took)/2]
		r.MaxSeconds = took[len(took)-1]
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if r.Failed > 0 {
		os.Exit(1)
	}
}
