// Package azdo is PanDev Metrics' client for the Azure DevOps REST API, on
// Azure DevOps Services (dev.azure.com, {org}.visualstudio.com) and Azure
// DevOps Server 2019/2020/2022.
//
// One Client serves one integration: one organization or collection URL and
// one personal access token. It authenticates with Basic auth and an empty
// user name, suppresses the sign-in redirect, picks the api-version per
// endpoint from the detected deployment (Services 7.1; Server 5.0/6.0/7.0),
// finds the release host through _apis/resourceAreas, pages every list the
// way its endpoint pages ($top/$skip, the x-ms-continuationtoken header, or
// not at all), retries what is safe to retry, slows down before Azure DevOps
// has to answer 429, limits concurrent requests and exports request metrics.
//
// Every error it returns is a *delivery.Error whose Kind, Message and Hint
// follow the user manual's Troubleshooting section; the HTTP detail is an
// *APIError inside it. The token never appears in an error or a log line.
//
// Protocol facts come from ../shared/azure-devops/PROTOCOL.md; section
// numbers in comments refer to it.
package azdo
