package controllers

import "k8s.io/apimachinery/pkg/watch"

type watchEvent = watch.Event
