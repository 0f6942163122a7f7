package githubsim

import "context"

type urlsKey struct{}

func withURLs(ctx context.Context, u urls) context.Context {
	return context.WithValue(ctx, urlsKey{}, u)
}

func urlsFrom(ctx context.Context) urls { u, _ := ctx.Value(urlsKey{}).(urls); return u }
