{{/*
Names, labels and the decisions several templates share.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "jetsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: fullnameOverride, else <release>-<name> (or the release name when it contains the chart name). */}}
{{- define "jetsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "jetsync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "jetsync.labels" -}}
helm.sh/chart: {{ include "jetsync.chart" . }}
{{ include "jetsync.selectorLabels" . }}
app.kubernetes.io/version: {{ include "jetsync.imageTag" . | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: jetsync
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the controller's pods; never change them after the first release. */}}
{{- define "jetsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jetsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{/* The ServiceAccount the controller runs as. */}}
{{- define "jetsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jetsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image tag: image.tag, else the chart's appVersion. */}}
{{- define "jetsync.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "jetsync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "jetsync.imageTag" .) }}
{{- end }}
{{- end }}

{{/* "true" when leader election is on: more than one replica, or forced. */}}
{{- define "jetsync.leaderElection" -}}
{{- if or (gt (int .Values.replicaCount) 1) .Values.leaderElection.force }}true{{ end }}
{{- end }}

{{/* The Lease's name. */}}
{{- define "jetsync.leaseName" -}}
{{- default (include "jetsync.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{/* The namespaces the controller watches, as a JSON list; empty means all. In namespaced mode the release namespace when none are listed. */}}
{{- define "jetsync.watchNamespaces" -}}
{{- $namespaces := .Values.watchNamespaces }}
{{- if and .Values.namespaced (not $namespaces) }}
{{- $namespaces = list .Release.Namespace }}
{{- end }}
{{- $namespaces | uniq | toJson }}
{{- end }}

{{/*
The default connection's authentication method, "" when none; fails when
more than one is given (the controller would refuse or pick one silently).
*/}}
{{- define "jetsync.natsAuth" -}}
{{- $methods := list }}
{{- if .Values.nats.creds.secretName }}{{ $methods = append $methods "creds" }}{{ end }}
{{- if .Values.nats.nkey.secretName }}{{ $methods = append $methods "nkey" }}{{ end }}
{{- if .Values.nats.user.secretName }}{{ $methods = append $methods "user" }}{{ end }}
{{- if .Values.nats.token.secretName }}{{ $methods = append $methods "token" }}{{ end }}
{{- if gt (len $methods) 1 }}
{{- fail (printf "nats: give one authentication method for the default connection, not %s" (join " and " $methods)) }}
{{- end }}
{{- first $methods | default "" }}
{{- end }}

{{/* The RBAC rules the controller needs in every namespace it watches. */}}
{{- define "jetsync.rules" -}}
- apiGroups: ["jetsync.dev"]
  resources: ["streams", "consumers", "keyvalues", "objectstores", "natsconnections"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["jetsync.dev"]
  resources: ["streams/status", "consumers/status", "keyvalues/status", "objectstores/status", "natsconnections/status"]
  verbs: ["get", "patch"]
- apiGroups: ["jetsync.dev"]
  resources: ["streams/finalizers", "consumers/finalizers", "keyvalues/finalizers", "objectstores/finalizers", "natsconnections/finalizers"]
  verbs: ["update"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/* Reading Secrets (a NatsConnection's credentials; watched so that a rotation re-reconciles). */}}
{{- define "jetsync.secretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end }}
