package main

import (
	"context"
	"net"

	"github.com/pandev-metrics/pandev/internal/collect"
	"github.com/pandev-metrics/pandev/internal/collect/azure"
	"github.com/pandev-metrics/pandev/internal/secret"
	"github.com/pandev-metrics/pandev/internal/store"
)

func secretValue(s string) secret.Value { return secret.New(s) }

func netListen() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func collectProgress(ctx context.Context, a *app, key store.Key) ([]collect.ProjectProgress, error) {
	return collect.Progress(ctx, a.db, key, azure.Resources)
}
