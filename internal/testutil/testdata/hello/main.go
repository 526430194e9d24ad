// Command hello is the program TestBinaryBuildsOnceOnDemand builds.
package main

func main() {}
