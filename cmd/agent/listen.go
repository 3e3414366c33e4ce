package main

import (
	"net"
	"net/netip"
)

// listen listens on addr, over IPv4 alone when its host is an IPv4 literal.
// Go's "tcp" turns 0.0.0.0 into a dual-stack socket that also takes IPv6
// and reports itself as [::]; the platform asks for 0.0.0.0, the reference
// (uvicorn) then listens on IPv4, and the log should say what was asked for.
// An empty host or [::] stays dual-stack.
func listen(addr string) (net.Listener, error) {
	network := "tcp"
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
			network = "tcp4"
		}
	}
	return net.Listen(network, addr)
}
