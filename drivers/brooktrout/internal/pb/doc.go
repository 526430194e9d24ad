// Package pb is the generated gRPC and protobuf code of brooktrout.proto,
// the contract between the Brooktrout host driver and its plugin process.
// It is committed; `make generate` regenerates it. Only package bridge
// imports it: callers never see gRPC.
package pb
