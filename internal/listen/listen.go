// Package listen opens the agent's TCP listeners the way the platform
// expects them.
package listen

import (
	"net"
	"net/netip"
)

// On listens on addr, over IPv4 alone when its host is an IPv4 literal:
// Go's "tcp" turns 0.0.0.0 into a dual-stack socket that reports itself as
// [::], while the platform asks for 0.0.0.0 and the reference (uvicorn)
// listens on IPv4. An empty host or [::] stays dual-stack.
func On(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}
