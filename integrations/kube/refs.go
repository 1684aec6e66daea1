package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// rewriteSecretRefs finds the references to the Secret from in spec that
// Repoint rewrites: env[].valueFrom.secretKeyRef, envFrom[].secretRef,
// volumes[].secret and the secret sources of projected volumes, in
// containers and init containers. When to is not empty it points each one
// at to. It returns a description of each reference, such as
// "container app env AWS_KEY" or "volume creds".
func rewriteSecretRefs(spec *corev1.PodSpec, from, to string) []string {
	var refs []string
	visit := func(kind string, containers []corev1.Container) {
		for i := range containers {
			c := &containers[i]
			for j := range c.Env {
				env := &c.Env[j]
				if env.ValueFrom == nil || env.ValueFrom.SecretKeyRef == nil || env.ValueFrom.SecretKeyRef.Name != from {
					continue
				}
				refs = append(refs, fmt.Sprintf("%s %s env %s", kind, c.Name, env.Name))
				if to != "" {
					env.ValueFrom.SecretKeyRef.Name = to
				}
			}
			for j := range c.EnvFrom {
				source := &c.EnvFrom[j]
				if source.SecretRef == nil || source.SecretRef.Name != from {
					continue
				}
				refs = append(refs, fmt.Sprintf("%s %s envFrom", kind, c.Name))
				if to != "" {
					source.SecretRef.Name = to
				}
			}
		}
	}
	visit("container", spec.Containers)
	visit("init container", spec.InitContainers)

	for i := range spec.Volumes {
		volume := &spec.Volumes[i]
		if volume.Secret != nil && volume.Secret.SecretName == from {
			refs = append(refs, "volume "+volume.Name)
			if to != "" {
				volume.Secret.SecretName = to
			}
		}
		if volume.Projected == nil {
			continue
		}
		for j := range volume.Projected.Sources {
			source := volume.Projected.Sources[j].Secret
			if source == nil || source.Name != from {
				continue
			}
			refs = append(refs, fmt.Sprintf("volume %s projected source %d", volume.Name, j))
			if to != "" {
				source.Name = to
			}
		}
	}
	return refs
}

// otherSecretRefs finds the references to the Secret name in spec that
// Repoint leaves alone but that still make the Secret in use: image pull
// secrets, CSI volumes' nodePublishSecretRef and ephemeral containers.
//
// NOTE: the secret references of older in-tree volume plugins (such as
// azureFile, cephfs, rbd or iscsi) are not checked.
func otherSecretRefs(spec *corev1.PodSpec, name string) []string {
	var refs []string
	for _, pull := range spec.ImagePullSecrets {
		if pull.Name == name {
			refs = append(refs, "image pull secret")
		}
	}
	for _, volume := range spec.Volumes {
		if volume.CSI != nil && volume.CSI.NodePublishSecretRef != nil && volume.CSI.NodePublishSecretRef.Name == name {
			refs = append(refs, fmt.Sprintf("volume %s CSI node publish secret", volume.Name))
		}
	}
	for _, c := range spec.EphemeralContainers {
		for _, env := range c.Env {
			if env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil && env.ValueFrom.SecretKeyRef.Name == name {
				refs = append(refs, fmt.Sprintf("ephemeral container %s env %s", c.Name, env.Name))
			}
		}
		for _, source := range c.EnvFrom {
			if source.SecretRef != nil && source.SecretRef.Name == name {
				refs = append(refs, fmt.Sprintf("ephemeral container %s envFrom", c.Name))
			}
		}
	}
	return refs
}

// allSecretRefs returns the references to the Secret name in spec that
// rewriteSecretRefs and otherSecretRefs find.
func allSecretRefs(spec *corev1.PodSpec, name string) []string {
	copied := spec.DeepCopy()
	return append(rewriteSecretRefs(copied, name, ""), otherSecretRefs(spec, name)...)
}
